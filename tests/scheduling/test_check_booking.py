"""check_booking: the reason a specific booking cannot be made, or None."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.scheduling import (
    DateOverride,
    Refusal,
    TimeOff,
    check_booking,
    is_bookable,
)

from .factories import (
    ANNEX,
    AT_HOME,
    IN_PERSON,
    MONDAY,
    NOW,
    ONLINE,
    STUDIO,
    at,
    booking,
    check,
    hours,
    lesson_type,
    school,
)

YOGA = 2


def ask(cal, clock: str = "10:00", spec=None, **request) -> Refusal | None:
    values = {
        "instructor_id": 7,
        "location_mode": IN_PERSON,
        "location_id": STUDIO,
        "now": NOW,
    }
    values.update(request)
    return check_booking(spec or lesson_type(), cal, start=at(MONDAY, clock), **values)


def test_free_start_on_the_grid_is_bookable() -> None:
    check(ask(school(hours())), None)


def test_refusal_reads_as_a_sentence() -> None:
    refusal = ask(school(hours()), "13:00")
    check(str(refusal), "That is outside the instructor's hours.")


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"location_mode": AT_HOME}, Refusal.MODE_NOT_OFFERED),
        ({"location_id": None}, Refusal.LOCATION_REQUIRED),
        ({"location_id": ANNEX}, Refusal.LOCATION_NOT_OFFERED),
        ({"instructor_id": 8}, Refusal.NOT_QUALIFIED),
        ({"now": at(MONDAY, "09:30")}, Refusal.TOO_SHORT_NOTICE),
        ({"now": at(MONDAY, "10:00") - timedelta(days=400)}, Refusal.TOO_FAR_AHEAD),
    ],
)
def test_type_and_horizon_rules_are_checked_first(request_: dict, expected: Refusal) -> None:
    spec = lesson_type(min_notice_hours=1, max_advance_days=365)
    check(
        ask(school(hours(), hours(instructor_id=8), qualified={1: {7}}), spec=spec, **request_),
        expected,
    )


def test_lesson_after_the_hours_is_outside_hours() -> None:
    check(ask(school(hours()), "13:00"), Refusal.OUTSIDE_HOURS)


def test_lesson_running_past_the_end_of_the_window_is_outside_hours() -> None:
    check(ask(school(hours()), "11:30"), Refusal.OUTSIDE_HOURS)


def test_day_off_override_makes_it_outside_hours() -> None:
    cal = school(hours(), overrides=(DateOverride(7, MONDAY),))
    check(ask(cal), Refusal.OUTSIDE_HOURS)


def test_in_person_during_online_only_hours_is_not_offered_then() -> None:
    cal = school(hours(modes=frozenset({ONLINE})))
    check(ask(cal), Refusal.NOT_OFFERED_THEN)
    check(ask(cal, location_mode=ONLINE), None)


def test_wrong_location_for_the_window_is_not_offered_then() -> None:
    spec = lesson_type(location_ids=frozenset({STUDIO, ANNEX}))
    check(ask(school(hours(location_id=ANNEX)), spec=spec), Refusal.NOT_OFFERED_THEN)


def test_time_off_says_the_instructor_is_away() -> None:
    away = TimeOff(7, at(MONDAY, "10:30"), at(MONDAY, "11:00"))
    check(ask(school(hours(), time_off=(away,))), Refusal.INSTRUCTOR_AWAY)


def test_closure_says_the_school_is_closed() -> None:
    closed = TimeOff(None, at(MONDAY, "00:00"), at(MONDAY, "23:00"))
    check(ask(school(hours(), time_off=(closed,))), Refusal.SCHOOL_CLOSED)


def test_overlap_with_a_buffered_booking_is_time_taken() -> None:
    cal = school(hours(), bookings=(booking(MONDAY, "09:00", "09:45", buffer_after_minutes=30),))
    check(ask(cal), Refusal.TIME_TAKEN)


def test_moving_a_booking_ignores_the_booking_itself() -> None:
    cal = school(hours(), bookings=(booking(MONDAY, "10:00", "11:00", id=5),))
    check(ask(cal), Refusal.TIME_TAKEN)
    check(ask(cal, exclude_booking_ids={5}), None)


def test_start_off_the_grid_is_not_a_start_time() -> None:
    check(ask(school(hours()), "10:05"), Refusal.NOT_A_START_TIME)


def test_location_is_ignored_for_online_lessons() -> None:
    check(ask(school(hours()), location_mode=ONLINE, location_id=ANNEX), None)


def test_full_group_session_says_class_full() -> None:
    spec = lesson_type(id=YOGA, capacity=4)
    full = booking(
        MONDAY,
        "10:00",
        "11:00",
        appointment_type_id=YOGA,
        seats_taken=4,
        capacity=4,
        location_mode=IN_PERSON,
        location_id=STUDIO,
    )
    cal = school(hours(), qualified={YOGA: {7}}, bookings=(full,))
    check(ask(cal, spec=spec), Refusal.CLASS_FULL)
    check(ask(cal, "09:00", spec=spec), None)


def test_joining_an_open_group_session_is_bookable() -> None:
    spec = lesson_type(id=YOGA, capacity=4)
    open_session = booking(
        MONDAY,
        "10:05",
        "11:05",
        appointment_type_id=YOGA,
        seats_taken=1,
        capacity=4,
        location_mode=IN_PERSON,
        location_id=STUDIO,
    )
    cal = school(hours(), qualified={YOGA: {7}}, bookings=(open_session,))
    check(ask(cal, "10:05", spec=spec), None)
    check(ask(cal, "10:05", spec=spec, location_mode=ONLINE), Refusal.TIME_TAKEN)


def test_is_bookable_is_the_yes_no_form() -> None:
    cal = school(hours())
    common = {"instructor_id": 7, "location_mode": IN_PERSON, "location_id": STUDIO, "now": NOW}
    assert is_bookable(lesson_type(), cal, start=at(MONDAY, "09:00"), **common)
    assert not is_bookable(lesson_type(), cal, start=at(MONDAY, "12:00"), **common)


def test_naive_start_is_refused_loudly() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_booking(
            lesson_type(),
            school(hours()),
            start=datetime(2026, 6, 1, 10),
            instructor_id=7,
            location_mode=IN_PERSON,
            location_id=STUDIO,
            now=NOW,
        )


def test_start_given_in_any_zone_means_the_same_moment() -> None:
    start = at(MONDAY, "10:00").astimezone(UTC)
    check(
        check_booking(
            lesson_type(),
            school(hours()),
            start=start,
            instructor_id=7,
            location_mode=IN_PERSON,
            location_id=STUDIO,
            now=NOW,
        ),
        None,
    )
