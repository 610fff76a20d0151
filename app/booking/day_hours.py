"""One date's hours, picked on a small month calendar: different hours that day, or not
teaching at all. Shared by the admin's "Hours by week" page and the instructor's portal.

A date's different hours are its ``HoursOverride`` rows (they replace the weekly hours of
that date); "not teaching that day" is a one-day ``TimeOff``, as everywhere else. Saving a
date replaces exactly that date's rows, checked by the same rules as the panels
(``validate_weekly_windows``) and saved through ``app.booking.disruptions``, so lessons the
change hits are listed with a choice first.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app import clock
from app.booking import disruptions
from app.extensions import db
from app.models import HoursOverride, LocationMode, Membership, SchoolClosure, TimeOff
from app.scheduling import WorkingWindow, validate_weekly_windows
from app.scheduling.time_format import TimeNotUnderstood, parse_time
from app.school_time import school_time_format, shown_time, time_input_example

EMPTY_RANGES = 2
NOT_TEACHING = "Not teaching (time off)"


class DayProblem(ValueError):
    """A date's hours that cannot be saved, in words."""


@dataclass
class RangeRow:
    """One line of the date's form, as typed or as stored (times as text)."""

    start: str = ""
    end: str = ""
    location_id: int | None = None
    modes: tuple[str, ...] = tuple(m.value for m in LocationMode)


@dataclass
class DayHours:
    day: date
    rows: list[RangeRow] = field(default_factory=list)
    not_teaching: bool = False
    away: str | None = None  # time off of several days, or a closure, covering this date


@dataclass(frozen=True)
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    is_past: bool
    mark: str | None  # "hours", "away", "closed" or None
    chosen: bool


def local_today(instructor: Membership) -> date:
    return clock.now().astimezone(ZoneInfo(instructor.organization.time_zone)).date()


def month_of(text: str | None, fallback: date) -> date:
    """``2026-12`` → 1 December 2026; anything else → the fallback's month."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return fallback.replace(day=1)


def day_of(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _overrides(instructor: Membership, first: date, last: date) -> list[HoursOverride]:
    return list(
        db.session.scalars(
            sa.select(HoursOverride)
            .where(
                HoursOverride.organization_id == instructor.organization_id,
                HoursOverride.instructor_id == instructor.id,
                HoursOverride.day.between(first, last),
            )
            .order_by(HoursOverride.day, HoursOverride.start_time)
        )
    )


def _time_off(instructor: Membership, first: date, last: date) -> list[TimeOff]:
    return list(
        db.session.scalars(
            sa.select(TimeOff).where(
                TimeOff.organization_id == instructor.organization_id,
                TimeOff.instructor_id == instructor.id,
                TimeOff.first_day <= last,
                TimeOff.last_day >= first,
            )
        )
    )


def _closures(instructor: Membership, first: date, last: date) -> list[SchoolClosure]:
    return list(
        db.session.scalars(
            sa.select(SchoolClosure).where(
                SchoolClosure.organization_id == instructor.organization_id,
                SchoolClosure.first_day <= last,
                SchoolClosure.last_day >= first,
            )
        )
    )


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def month_calendar(
    instructor: Membership, month: date, chosen: date | None
) -> list[list[CalendarDay]]:
    """Weeks (Monday first) of the month, each date marked with what it has."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = weeks[0][0], weeks[-1][-1]
    marks: dict[date, str] = {o.day: "hours" for o in _overrides(instructor, first, last)}
    for away in _time_off(instructor, first, last):
        marks.update({d: "away" for d in _days(away.first_day, away.last_day)})
    for closure in _closures(instructor, first, last):
        marks.update({d: "closed" for d in _days(closure.first_day, closure.last_day)})
    today = local_today(instructor)
    return [
        [
            CalendarDay(d, d.month == month.month, d == today, d < today, marks.get(d), d == chosen)
            for d in week
        ]
        for week in weeks
    ]


def _one_day_time_off(instructor: Membership, day: date) -> TimeOff | None:
    return next(
        (t for t in _time_off(instructor, day, day) if t.first_day == t.last_day == day), None
    )


def stored_day(instructor: Membership, day: date) -> DayHours:
    rows = [
        RangeRow(shown_time(o.start_time), shown_time(o.end_time), o.location_id, o.location_modes)
        for o in _overrides(instructor, day, day)
    ]
    hours = DayHours(day, rows, not_teaching=_one_day_time_off(instructor, day) is not None)
    longer = [t for t in _time_off(instructor, day, day) if t.first_day != t.last_day]
    closures = _closures(instructor, day, day)
    if closures:
        hours.away = f"The school is closed: {closures[0]}."
    elif longer:
        hours.away = f"Time off {longer[0].days_display}."
    return hours


def typed_day(form, day: date) -> DayHours:
    """What was typed, to show again when it is refused."""
    rows, n = [], 0
    while f"o-{n}-start" in form:
        location = form.get(f"o-{n}-location", "")
        rows.append(
            RangeRow(
                form.get(f"o-{n}-start", ""),
                form.get(f"o-{n}-end", ""),
                int(location) if location.isdigit() else None,
                tuple(form.getlist(f"o-{n}-modes")),
            )
        )
        n += 1
    filled = [r for r in rows if r.start.strip() or r.end.strip()]
    return DayHours(day, filled, not_teaching=bool(form.get("not_teaching")))


def _time(text: str, what: str):
    try:
        return parse_time(text)
    except TimeNotUnderstood:
        raise DayProblem(f"{what}: give a time like {time_input_example()}.") from None


def windows_from(
    hours: DayHours, instructor: Membership, location_ids: set[int]
) -> list[HoursOverride]:
    """The typed ranges as override rows (not yet saved); ``DayProblem`` if unreadable."""
    rows = []
    for n, typed in enumerate(hours.rows, start=1):
        what = f"Range {n}"
        modes = tuple(typed.modes)
        if not modes or not set(modes) <= {m.value for m in LocationMode}:
            raise DayProblem(f"{what}: choose at least one way of teaching.")
        if typed.location_id is not None and typed.location_id not in location_ids:
            raise DayProblem(f"{what}: that location is not one of this school's.")
        if typed.location_id is not None and LocationMode.IN_PERSON.value not in modes:
            raise DayProblem(
                f"{what}: a location only applies to in-person teaching: add “In person” "
                "or clear it."
            )
        row = HoursOverride(
            organization_id=instructor.organization_id,
            instructor_id=instructor.id,
            day=hours.day,
            start_time=_time(typed.start, f"{what}, start"),
            end_time=_time(typed.end, f"{what}, end"),
            location_id=typed.location_id,
            location_modes=list(modes),
        )
        row.instructor = instructor
        rows.append(row)
    if hours.not_teaching and rows:
        raise DayProblem(f"Either give the hours of that date or tick “{NOT_TEACHING}”, not both.")
    return rows


def day_problems(instructor: Membership, day: date, rows: list[HoursOverride]) -> list[str]:
    if day < local_today(instructor):
        return ["That date has passed; pick today or a later date."]
    windows = [
        WorkingWindow(
            instructor.id,
            day.weekday(),
            r.start_time,
            r.end_time,
            r.location_id,
            frozenset(r.location_modes),
            day,
            day,
        )
        for r in rows
    ]
    problems = validate_weekly_windows(windows, school_time_format())
    return [p.replace(f"Instructor {instructor.id}", instructor.full_name) for p in problems]


def _same_hours(row: HoursOverride) -> tuple:
    """Rows equal by this are the same hours: kept, not removed and added again."""
    return (row.start_time, row.end_time, row.location_id, tuple(sorted(row.location_modes)))


def save_day(
    instructor: Membership,
    hours: DayHours,
    rows: list[HoursOverride],
    *,
    actor: Membership,
    decisions,
    message: str | None,
) -> disruptions.Outcome | None:
    """Make the date's stored rows exactly ``rows`` (or a one-day time off); None: no change."""
    day = hours.day
    existing = _overrides(instructor, day, day)
    have = {_same_hours(r): r for r in existing}
    wanted = {_same_hours(r): r for r in rows}
    removed: list = [r for k, r in have.items() if k not in wanted]
    added: list = [r for k, r in wanted.items() if k not in have]
    away = _one_day_time_off(instructor, day)
    if hours.not_teaching and away is None:
        time_off = TimeOff(
            organization_id=instructor.organization_id,
            instructor_id=instructor.id,
            first_day=day,
            last_day=day,
            reason="Not teaching",
        )
        time_off.instructor = instructor
        added.append(time_off)
    elif not hours.not_teaching and away is not None:
        removed.append(away)
    if not added and not removed:
        return None
    return disruptions.save_changes(
        added, removed, actor=actor, decisions=decisions, message=message
    )


# --- what the pages use ---------------------------------------------------------------------


@dataclass
class DayCalendar:
    """The month shown and its links; ``page_url(month=…, day=…)`` is the page's own URL."""

    month: date
    weeks: list[list[CalendarDay]]
    page_url: Callable[..., str]
    post_url: Callable[[date], str]

    @property
    def previous_url(self) -> str:
        return self.page_url(month=f"{(self.month - timedelta(days=1)):%Y-%m}")

    @property
    def next_url(self) -> str:
        return self.page_url(month=f"{(self.month + timedelta(days=31)):%Y-%m}")

    @property
    def month_url(self) -> str:
        return self.page_url(month=f"{self.month:%Y-%m}")

    def day_url(self, day: date) -> str:
        return self.page_url(month=f"{day:%Y-%m}", day=day.isoformat())


def day_calendar(
    instructor: Membership,
    args,
    page_url: Callable[..., str],
    post_url: Callable[[date], str],
    typed: DayHours | None = None,
) -> tuple[DayCalendar, DayHours | None]:
    """The calendar for ``?month=2026-12&day=2026-12-10`` and the chosen date's hours (what
    was typed, when a refused form comes back)."""
    chosen = typed.day if typed else day_of(args.get("day"))
    month = month_of(args.get("month"), chosen or local_today(instructor))
    weeks = month_calendar(instructor, month, chosen)
    hours = typed or (stored_day(instructor, chosen) if chosen else None)
    if typed:
        hours.away = stored_day(instructor, typed.day).away
    return DayCalendar(month, weeks, page_url, post_url), hours


@dataclass
class DayAnswer:
    """What saving a date came to: saved (a message), or refused (status, reasons, input)."""

    status: int
    messages: list[str]
    typed: DayHours | None = None
    lessons_hit: list | None = None


def submit_day(
    instructor: Membership, day_text: str, form, location_ids: set[int], *, actor: Membership
) -> DayAnswer:
    day = day_of(day_text)
    if day is None:
        return DayAnswer(404, ["There is no such date."])
    typed = typed_day(form, day)
    try:
        rows = windows_from(typed, instructor, location_ids)
    except DayProblem as problem:
        return DayAnswer(422, [str(problem)], typed)
    problems = day_problems(instructor, day, rows)
    if problems:
        return DayAnswer(422, problems, typed)
    try:
        decisions, message = disruptions.decisions_from_form(form)
        outcome = save_day(
            instructor, typed, rows, actor=actor, decisions=decisions, message=message
        )
    except disruptions.LessonsHit as hit:
        db.session.rollback()
        return DayAnswer(422, [str(hit)], typed, hit.hits)
    except (disruptions.DecisionProblem, ValueError) as problem:
        db.session.rollback()
        return DayAnswer(422, [str(problem)], typed)
    if outcome is None:
        return DayAnswer(200, [f"{day:%a %d %b %Y}: no change."])
    return DayAnswer(
        200, [" ".join(filter(None, [f"{day:%a %d %b %Y} saved.", outcome.in_words()]))]
    )
