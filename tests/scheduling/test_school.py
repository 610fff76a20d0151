"""SchoolCalendar: what hours an instructor has on a given local date."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.scheduling import DateOverride, SchoolCalendar

from .factories import MONDAY, ONLINE, hours, school


def day_hours(cal: SchoolCalendar, instructor: int = 7, day=MONDAY) -> list[tuple[str, str]]:
    """The resolved windows of one date as local ("HH:MM", "HH:MM") pairs."""
    return [
        (_local(w.start_ts, cal.tz), _local(w.end_ts, cal.tz))
        for w in cal._index.day_windows(instructor, day)
    ]


def _local(ts: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(zone).strftime("%H:%M")


def test_weekly_hours_resolve_to_that_days_windows() -> None:
    assert day_hours(school(hours(), hours(start="13:00", end="15:00"))) == [
        ("09:00", "12:00"),
        ("13:00", "15:00"),
    ]


def test_touching_windows_with_equal_settings_join() -> None:
    cal = school(hours(), hours(start="12:00", end="13:00"))
    assert day_hours(cal) == [("09:00", "13:00")]


def test_touching_windows_with_different_modes_stay_apart() -> None:
    cal = school(hours(), hours(start="12:00", end="13:00", modes=frozenset({ONLINE})))
    assert day_hours(cal) == [("09:00", "12:00"), ("12:00", "13:00")]


def test_several_overrides_for_one_date_add_up() -> None:
    overrides = (
        DateOverride(7, MONDAY, ((time(8), time(9)),)),
        DateOverride(7, MONDAY, ((time(18), time(19)),)),
    )
    assert day_hours(school(hours(), overrides=overrides)) == [
        ("08:00", "09:00"),
        ("18:00", "19:00"),
    ]


def test_instructor_without_hours_has_none() -> None:
    assert day_hours(school(hours()), instructor=99) == []
    assert day_hours(school(hours()), day=MONDAY + timedelta(days=1)) == []


def test_bad_weekday_is_refused_when_the_school_is_built() -> None:
    with pytest.raises(ValueError, match="weekday must be 0"):
        school(hours(weekday=7))


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(Exception, match="No time zone found"):
        SchoolCalendar("Mars/Olympus_Mons")


def test_inputs_may_be_lists_and_sets() -> None:
    cal = SchoolCalendar("UTC", windows=[hours()], qualifications={1: {7}})
    assert cal.windows == (hours(),)
    assert cal.qualified_instructors(1) == frozenset({7})
    assert cal.qualified_instructors(2) == frozenset()
