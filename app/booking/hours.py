"""Checks on working hours and date overrides before they are saved (admin panel and portal).

The rules themselves live in the scheduling core (``validate_weekly_windows``): windows on a
5-minute grid, start before end, no two windows of one day overlapping while both are in
effect. An override on one date is checked as a window in effect on that date only.
"""

from __future__ import annotations

import re
from datetime import date, time

import sqlalchemy as sa

from app.extensions import db
from app.models import HoursOverride, LocationMode, Membership, WorkingHours
from app.scheduling import WorkingWindow, validate_weekly_windows
from app.school_time import school_time_format
from app.tenancy import current_org_id


def _ids(item) -> tuple[int | None, int | None]:
    """Instructor and location ids; a FAB form sets the relations, the ids follow on flush."""
    instructor_id = item.instructor_id or (item.instructor.id if item.instructor else None)
    location = getattr(item, "location", None)
    location_id = item.location_id or (location.id if location is not None else None)
    return instructor_id, location_id


def _window(
    instructor_id: int,
    weekday: int,
    start: time,
    end: time,
    location_id: int | None,
    modes,
    effective_from: date | None,
    effective_until: date | None,
) -> WorkingWindow:
    return WorkingWindow(
        instructor_id,
        weekday,
        start,
        end,
        location_id,
        frozenset(modes or ()),
        effective_from,
        effective_until,
    )


def _others(query) -> list:
    return list(db.session.scalars(query))


def _in_words(problems: list[str], instructor: Membership | None) -> list[str]:
    name = instructor.full_name if instructor is not None else "The instructor"
    return [re.sub(r"^Instructor \d+", name, p) for p in problems]


def _location_problem(location_id: int | None, modes) -> list[str]:
    if location_id is not None and LocationMode.IN_PERSON.value not in (modes or ()):
        return ["A location only applies to in-person teaching: add “In person” or clear it."]
    return []


def weekly_hours_problems(item: WorkingHours) -> list[str]:
    """What is wrong with saving ``item`` next to the instructor's other weekly windows."""
    if item.start_time is None or item.end_time is None:
        return ["Give a start and an end time."]
    instructor_id, location_id = _ids(item)
    with db.session.no_autoflush:  # the edited row is checked before it is written
        others = _others(
            sa.select(WorkingHours).where(
                WorkingHours.organization_id == current_org_id(),
                WorkingHours.instructor_id == instructor_id,
                WorkingHours.weekday == item.weekday,
                WorkingHours.id != (item.id or 0),
            )
        )
    windows = [
        _window(
            w.instructor_id,
            w.weekday,
            w.start_time,
            w.end_time,
            w.location_id,
            w.location_modes,
            w.effective_from,
            w.effective_until,
        )
        for w in others
    ] + [
        _window(
            instructor_id or 0,
            item.weekday,
            item.start_time,
            item.end_time,
            location_id,
            item.location_modes,
            item.effective_from,
            item.effective_until,
        )
    ]
    problems = _location_problem(location_id, item.location_modes)
    return problems + _in_words(
        validate_weekly_windows(windows, school_time_format()), item.instructor
    )


def override_problems(item: HoursOverride) -> list[str]:
    """What is wrong with saving ``item`` next to the instructor's other hours that date."""
    if item.start_time is None or item.end_time is None or item.day is None:
        return ["Give a date, a start and an end time."]
    instructor_id, location_id = _ids(item)
    with db.session.no_autoflush:
        others = _others(
            sa.select(HoursOverride).where(
                HoursOverride.organization_id == current_org_id(),
                HoursOverride.instructor_id == instructor_id,
                HoursOverride.day == item.day,
                HoursOverride.id != (item.id or 0),
            )
        )
    windows = [
        _window(
            o.instructor_id,
            o.day.weekday(),
            o.start_time,
            o.end_time,
            o.location_id,
            o.location_modes,
            o.day,
            o.day,
        )
        for o in others
    ] + [
        _window(
            instructor_id or 0,
            item.day.weekday(),
            item.start_time,
            item.end_time,
            location_id,
            item.location_modes,
            item.day,
            item.day,
        )
    ]
    problems = _location_problem(location_id, item.location_modes)
    return problems + _in_words(
        validate_weekly_windows(windows, school_time_format()), item.instructor
    )


def day_range_problems(first_day: date | None, last_day: date | None) -> list[str]:
    if first_day is None or last_day is None:
        return ["Give the first and the last day."]
    if last_day < first_day:
        return ["The last day is before the first day."]
    if (last_day - first_day).days > 366:
        return ["Enter at most a year at a time."]
    return []
