"""An instructor's whole week of hours on one page (school admins): several ranges per day,
copy a day to other days, saved at once.

FAB's CRUD edits one row at a time; a week is many rows, so this is a custom view. The rows
are the same ``working_hours`` (open-ended ones: rows with from/until dates stay in the
"Working hours" list), checked by the same rules (``validate_weekly_windows``) and saved
through ``app.booking.disruptions``, so a week that no longer covers a booked lesson lists it
with a choice, as every other change to hours does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.booking import day_hours, disruptions
from app.extensions import db
from app.models import Location, LocationMode, Membership, MembershipRole, WorkingHours
from app.models.scheduling import WEEKDAYS
from app.scheduling import WorkingWindow, validate_weekly_windows
from app.scheduling.time_format import TimeNotUnderstood, parse_time
from app.school_time import school_time_format, time_input_example
from app.tenancy import current_membership, current_org_id

EMPTY_RANGES = 2  # blank ranges offered under each day's own


@dataclass(frozen=True)
class Range:
    start: time
    end: time
    location_id: int | None
    modes: tuple[str, ...]

    def key(self) -> tuple:
        return (self.start, self.end, self.location_id, tuple(sorted(self.modes)))


class WeekProblem(ValueError):
    """A week of hours that cannot be saved, in words for the admin."""


def _instructors() -> list[Membership]:
    return list(
        db.session.scalars(
            sa.select(Membership).where(
                Membership.organization_id == current_org_id(),
                Membership.role == MembershipRole.INSTRUCTOR,
                Membership.active.is_(True),
            )
        )
    )


def _instructor(instructor_id: int) -> Membership:
    found = db.session.scalar(
        sa.select(Membership).where(
            Membership.organization_id == current_org_id(),
            Membership.id == instructor_id,
            Membership.role == MembershipRole.INSTRUCTOR,
        )
    )
    if found is None:
        abort(404)
    return found


def _locations() -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            sa.select(Location.id, Location.name)
            .where(Location.organization_id == current_org_id(), Location.active.is_(True))
            .order_by(Location.name)
        )
    )


def _open_ended(instructor: Membership) -> list[WorkingHours]:
    return list(
        db.session.scalars(
            sa.select(WorkingHours)
            .where(
                WorkingHours.organization_id == instructor.organization_id,
                WorkingHours.instructor_id == instructor.id,
                WorkingHours.effective_from.is_(None),
                WorkingHours.effective_until.is_(None),
            )
            .order_by(WorkingHours.weekday, WorkingHours.start_time)
        )
    )


def _dated(instructor: Membership) -> list[WorkingHours]:
    return list(
        db.session.scalars(
            sa.select(WorkingHours).where(
                WorkingHours.organization_id == instructor.organization_id,
                WorkingHours.instructor_id == instructor.id,
                sa.or_(
                    WorkingHours.effective_from.is_not(None),
                    WorkingHours.effective_until.is_not(None),
                ),
            )
        )
    )


def _time(value: str, what: str) -> time:
    try:
        return parse_time(value)
    except TimeNotUnderstood:
        raise WeekProblem(f"{what}: give a time like {time_input_example()}.") from None


def week_from_form(form, location_ids: set[int]) -> dict[int, list[Range]]:
    """``d<weekday>-<n>-start/end/location/modes`` → ranges per weekday; a range with both
    times empty is no range; ``copy-<weekday>`` lists days that take that day's ranges."""
    week: dict[int, list[Range]] = {d: [] for d in range(7)}
    for weekday in range(7):
        n = 0
        while f"d{weekday}-{n}-start" in form:
            prefix = f"d{weekday}-{n}-"
            start, end = form.get(prefix + "start", ""), form.get(prefix + "end", "")
            n += 1
            if not start.strip() and not end.strip():
                continue
            what = f"{WEEKDAYS[weekday]}, range {n}"
            modes = tuple(form.getlist(prefix + "modes"))
            if not modes or not set(modes) <= {m.value for m in LocationMode}:
                raise WeekProblem(f"{what}: choose at least one way of teaching.")
            location = form.get(prefix + "location", "") or ""
            location_id = int(location) if location.isdigit() else None
            if location and location_id not in location_ids:
                raise WeekProblem(f"{what}: that location is not one of this school's.")
            if location_id is not None and LocationMode.IN_PERSON.value not in modes:
                raise WeekProblem(
                    f"{what}: a location only applies to in-person teaching: add “In person” "
                    "or clear it."
                )
            week[weekday].append(
                Range(
                    _time(start, f"{what}, start"), _time(end, f"{what}, end"), location_id, modes
                )
            )
    for source in range(7):
        for target in form.getlist(f"copy-{source}"):
            if not target.isdigit() or not 0 <= int(target) <= 6:
                raise WeekProblem("A day to copy to could not be read.")
            if int(target) != source:
                week[int(target)] = list(week[source])
    return week


def week_problems(instructor: Membership, week: dict[int, list[Range]]) -> list[str]:
    windows = [
        WorkingWindow(
            instructor.id, d, r.start, r.end, r.location_id, frozenset(r.modes), None, None
        )
        for d, ranges in week.items()
        for r in ranges
    ] + [  # ranges with from/until dates are not on this page, but still must not overlap
        WorkingWindow(
            instructor.id,
            row.weekday,
            row.start_time,
            row.end_time,
            row.location_id,
            frozenset(row.location_modes),
            row.effective_from,
            row.effective_until,
        )
        for row in _dated(instructor)
    ]
    return [
        p.replace(f"Instructor {instructor.id}", instructor.full_name)
        for p in validate_weekly_windows(windows, school_time_format())
    ]


def save_week(
    instructor: Membership,
    week: dict[int, list[Range]],
    *,
    actor: Membership,
    decisions,
    message: str | None,
) -> tuple[int, int, disruptions.Outcome]:
    """Rows added and removed so the open-ended hours are exactly ``week``."""
    existing = _open_ended(instructor)
    wanted = {(d, r.key()): r for d, ranges in week.items() for r in ranges}
    have = {
        (
            row.weekday,
            Range(row.start_time, row.end_time, row.location_id, tuple(row.location_modes)).key(),
        ): row
        for row in existing
    }
    removed = [row for key, row in have.items() if key not in wanted]
    added = [
        WorkingHours(
            organization_id=instructor.organization_id,
            instructor_id=instructor.id,
            weekday=d,
            start_time=r.start,
            end_time=r.end,
            location_id=r.location_id,
            location_modes=list(r.modes),
        )
        for (d, key), r in wanted.items()
        if (d, key) not in have
    ]
    for row in added:
        row.instructor = instructor
    if not added and not removed:
        return 0, 0, disruptions.Outcome()
    outcome = disruptions.save_changes(
        added, removed, actor=actor, decisions=decisions, message=message
    )
    return len(added), len(removed), outcome


class WeeklyHoursView(BaseView):
    """/availability/week/<instructor id>: the whole week of one instructor."""

    route_base = "/availability/week"
    default_view = "index"
    served_on = "school"

    @expose("/")
    @has_access
    def index(self):
        instructors = _instructors()
        if not instructors:
            flash("Add an instructor first.", "info")
            return redirect(url_for("WorkingHoursView.list"))
        chosen = request.args.get("instructor", "")
        instructor_id = int(chosen) if chosen.isdigit() else instructors[0].id
        return redirect(url_for("WeeklyHoursView.week", instructor_id=instructor_id))

    @expose("/<int:instructor_id>", methods=["GET", "POST"])
    @has_access
    def week(self, instructor_id: int):
        instructor = _instructor(instructor_id)
        locations = _locations()
        if request.method == "GET":
            return self._page(instructor, locations, self._current(instructor))
        try:
            week = week_from_form(request.form, {i for i, _ in locations})
        except WeekProblem as problem:
            flash(str(problem), "danger")
            return self._page(instructor, locations, self._current(instructor), 422)
        problems = week_problems(instructor, week)
        if problems:
            for problem in problems:
                flash(problem, "danger")
            return self._page(instructor, locations, week, 422)
        try:
            decisions, message = disruptions.decisions_from_form(request.form)
            added, removed, outcome = save_week(
                instructor, week, actor=current_membership(), decisions=decisions, message=message
            )
        except disruptions.LessonsHit as hit:
            db.session.rollback()
            g.lessons_hit, g.lesson_choices = hit.hits, request.form
            flash(str(hit), "warning")
            return self._page(_instructor(instructor_id), locations, week, 422)
        except (disruptions.DecisionProblem, ValueError) as problem:
            db.session.rollback()
            flash(str(problem), "danger")
            return self._page(_instructor(instructor_id), locations, week, 422)
        saved = "No change." if not (added or removed) else "Weekly hours saved."
        flash(" ".join(filter(None, [saved, outcome.in_words()])), "success")
        return redirect(url_for("WeeklyHoursView.week", instructor_id=instructor_id))

    def _current(self, instructor: Membership) -> dict[int, list[Range]]:
        week: dict[int, list[Range]] = {d: [] for d in range(7)}
        for row in _open_ended(instructor):
            week[row.weekday].append(
                Range(row.start_time, row.end_time, row.location_id, tuple(row.location_modes))
            )
        return week

    @expose("/<int:instructor_id>/day/<day>", methods=["POST"])
    @has_access
    def day(self, instructor_id: int, day: str):
        """Save one date picked on the small calendar: its own hours, or not teaching."""
        instructor = _instructor(instructor_id)
        locations = _locations()
        answer = day_hours.submit_day(
            instructor, day, request.form, {i for i, _ in locations}, actor=current_membership()
        )
        if answer.status == 404:
            abort(404)
        if answer.status >= 400:
            g.lessons_hit, g.lesson_choices = answer.lessons_hit, request.form
            g.lessons_hit_form = "day"
            for message in answer.messages:
                flash(message, "warning" if answer.lessons_hit else "danger")
            instructor = _instructor(instructor_id)
            return self._page(
                instructor, locations, self._current(instructor), answer.status, answer.typed
            )
        flash(answer.messages[0], "success")
        chosen = day_hours.day_of(day)
        return redirect(
            url_for(
                "WeeklyHoursView.week",
                instructor_id=instructor_id,
                month=f"{chosen:%Y-%m}",
                day=chosen.isoformat(),
                _anchor="dates",
            )
        )

    def _page(self, instructor, locations, week, status: int = 200, typed_day=None):
        dated = len(_dated(instructor))
        day_cal, chosen_day = day_hours.day_calendar(
            instructor,
            request.args,
            lambda **args: url_for(
                "WeeklyHoursView.week", instructor_id=instructor.id, _anchor="dates", **args
            ),
            lambda day: url_for(
                "WeeklyHoursView.day", instructor_id=instructor.id, day=day.isoformat()
            ),
            typed_day,
        )
        page = self.render_template(
            "booking/week_hours.html",
            instructor=instructor,
            instructors=_instructors(),
            locations=locations,
            week=week,
            weekdays=WEEKDAYS,
            modes=list(LocationMode),
            empty_ranges=EMPTY_RANGES,
            dated=dated,
            day_cal=day_cal,
            day_hours=chosen_day,
        )
        return page, status


def register(appbuilder) -> None:
    appbuilder.add_view(WeeklyHoursView, "Hours by week", icon="fa-th", category="Availability")
