"""validate_weekly_windows: problems a person can act on."""

from __future__ import annotations

from datetime import date, time

from app.scheduling import WorkingWindow, validate_weekly_windows

from .factories import ONLINE, check, hours


def test_sensible_week_has_no_problems() -> None:
    week = [hours(weekday=d) for d in range(5)] + [hours(start="13:00", end="17:30")]
    check(validate_weekly_windows(week), [])


def test_start_must_be_before_end() -> None:
    check(
        validate_weekly_windows([hours(start="12:00", end="09:00")]),
        ["Instructor 7, Monday 12:00–09:00: the start must be before the end."],
    )


def test_times_must_be_on_the_five_minute_grid() -> None:
    window = WorkingWindow(7, 2, time(9, 7), time(12, 0))
    check(
        validate_weekly_windows([window]),
        ["Instructor 7, Wednesday 09:07–12:00: times must be on a 5-minute grid (09:07 is not)."],
    )


def test_overlapping_windows_of_one_day_are_reported() -> None:
    got = validate_weekly_windows([hours(), hours(start="11:00", end="14:00")])
    check(got, ["Instructor 7, Monday 09:00–12:00 overlaps 11:00–14:00."])


def test_touching_windows_are_fine() -> None:
    check(validate_weekly_windows([hours(), hours(start="12:00", end="14:00")]), [])


def test_same_hours_on_other_days_or_for_other_instructors_are_fine() -> None:
    windows = [hours(), hours(weekday=1), hours(instructor_id=8)]
    check(validate_weekly_windows(windows), [])


def test_overlap_is_fine_when_the_windows_are_never_in_effect_together() -> None:
    until_june = hours(effective_until=date(2026, 6, 30))
    from_july = hours(start="10:00", end="14:00", effective_from=date(2026, 7, 1))
    check(validate_weekly_windows([until_june, from_july]), [])


def test_overlap_is_reported_when_effective_ranges_meet() -> None:
    until_june = hours(effective_until=date(2026, 6, 30))
    from_june = hours(start="10:00", end="14:00", effective_from=date(2026, 6, 1))
    check(len(validate_weekly_windows([until_june, from_june])), 1)


def test_overlap_is_reported_even_if_modes_differ() -> None:
    # One person cannot teach online and in person at once.
    online = hours(start="10:00", end="11:00", modes=frozenset({ONLINE}))
    check(len(validate_weekly_windows([hours(), online])), 1)


def test_effective_range_must_not_be_backwards() -> None:
    window = hours(effective_from=date(2026, 7, 1), effective_until=date(2026, 6, 1))
    got = validate_weekly_windows([window])
    check(len(got), 1)
    assert "'effective from' (2026-07-01) is after 'effective until' (2026-06-01)" in got[0], got


def test_window_needs_at_least_one_mode() -> None:
    got = validate_weekly_windows([hours(modes=frozenset())])
    assert got and "at least one way of teaching" in got[0], got


def test_weekday_out_of_range_is_reported() -> None:
    got = validate_weekly_windows([hours(weekday=7)])
    check(got, ["Instructor 7: weekday must be 0 (Monday) to 6 (Sunday), not 7."])
