"""Property tests: random small schools around DST weeks in New York and London.

The strongest check compares available_slots with a slow, obvious oracle; the others state
single invariants so a failure says which rule broke.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scheduling import LocationMode, Slot, SlotQuery, available_slots, check_booking

from .factories import IN_PERSON, MONDAY, NOW, STUDIO, booking, hours, lesson_type, school
from .oracle import expected_offers, occupied, windows_on
from .strategies import LONDON, NEW_YORK, Case, cases

# SCHEDULING_EXAMPLES=2000 for a long hunt; the default keeps the directory well under 10 s.
EXAMPLES = int(os.environ.get("SCHEDULING_EXAMPLES", "25"))
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def offers(slots: list[Slot]) -> set[tuple]:
    return {
        (s.start, s.end, s.location_mode, s.location_id, instructor, seats)
        for s in slots
        for instructor, seats in s.seats_left_by_instructor
    }


def slots_of(case: Case) -> list[Slot]:
    return available_slots(case.query, case.school, case.now)


def is_session_start(case: Case, slot: Slot, instructor: int) -> bool:
    """True when the slot is joining this instructor's existing group session."""
    return any(
        b.instructor_id == instructor
        and b.appointment_type_id == case.query.appointment_type.id
        and b.start == slot.start
        and (b.location_mode, b.location_id) == (slot.location_mode, slot.location_id)
        for b in case.school.bookings
    )


@PROPERTY
@given(cases())
def test_slots_match_the_slow_obvious_rules(case: Case) -> None:
    got, expected = offers(slots_of(case)), expected_offers(case.query, case.school, case.now)
    assert got == expected, (
        f"\nmissing (expected, not got): {sorted(expected - got)}"
        f"\nextra   (got, not expected): {sorted(got - expected)}"
    )


@PROPERTY
@given(cases())
def test_slots_are_utc_sorted_and_unique(case: Case) -> None:
    slots = slots_of(case)
    keys = [
        (s.start, list(LocationMode).index(s.location_mode), s.location_id or -1) for s in slots
    ]
    assert keys == sorted(keys), "slots are not sorted by start"
    assert len(set(keys)) == len(keys), "a (start, mode, location) appears twice"
    for s in slots:
        assert s.start.utcoffset() == timedelta(0) and s.end.utcoffset() == timedelta(0)
        assert list(s.instructor_ids) == sorted(s.instructor_ids), f"unsorted {s.instructor_ids}"
        assert s.seats_left == max(seats for _, seats in s.seats_left_by_instructor)


@PROPERTY
@given(cases())
def test_no_slot_overlaps_a_booking_plus_buffers(case: Case) -> None:
    spec = case.query.appointment_type
    for slot in slots_of(case):
        mine = (
            slot.start - timedelta(minutes=spec.buffer_before_minutes),
            slot.end + timedelta(minutes=spec.buffer_after_minutes),
        )
        for instructor in slot.instructor_ids:
            if is_session_start(case, slot, instructor):
                continue  # joining a session may overlap that session, checked by the oracle
            for b in case.school.bookings:
                busy = occupied(b)
                clash = b.instructor_id == instructor and mine[0] < busy[1] and busy[0] < mine[1]
                assert not clash, f"slot {slot.start}–{slot.end} of {instructor} overlaps {b}"


@PROPERTY
@given(cases())
def test_every_slot_lies_inside_working_hours_and_outside_time_off(case: Case) -> None:
    tz = case.tz
    for slot in slots_of(case):
        day = slot.start.astimezone(tz).date()
        for instructor in slot.instructor_ids:
            inside = [
                w
                for w in windows_on(case.school, instructor, day)
                if _utc(day, w[0], tz) <= slot.start and slot.end <= _utc(day, w[1], tz)
            ]
            assert inside, f"{slot.start}–{slot.end} is outside the hours of {instructor}"
            for t in case.school.time_off:
                if t.instructor_id in (None, instructor):
                    assert not (t.start < slot.end and slot.start < t.end), f"{slot} in {t}"


@PROPERTY
@given(cases())
def test_no_nonexistent_or_repeated_local_times(case: Case) -> None:
    tz = case.tz
    for slot in slots_of(case):
        local = slot.start.astimezone(tz)
        assert local.fold == 0, f"{slot.start} is the second pass of a repeated hour ({local})"
        round_trip = local.replace(tzinfo=None).replace(tzinfo=tz).astimezone(UTC)
        assert round_trip == slot.start, f"{local} does not exist as a wall time"


@PROPERTY
@given(cases())
def test_notice_and_advance_limits_hold(case: Case) -> None:
    spec = case.query.appointment_type
    earliest = case.now + timedelta(hours=spec.min_notice_hours)
    for slot in slots_of(case):
        assert slot.start >= earliest, f"{slot.start} is before {earliest}"
        if spec.max_advance_days is not None:
            latest = case.now + timedelta(days=spec.max_advance_days)
            assert slot.start <= latest, f"{slot.start} is after {latest}"


@PROPERTY
@given(cases())
def test_locations_and_qualifications_are_respected(case: Case) -> None:
    spec, query = case.query.appointment_type, case.query
    qualified = case.school.qualifications[spec.id]
    for slot in slots_of(case):
        assert slot.location_mode in spec.location_modes
        assert (slot.location_mode is LocationMode.IN_PERSON) == (slot.location_id is not None)
        if slot.location_id is not None:
            assert slot.location_id in spec.location_ids
        assert set(slot.instructor_ids) <= qualified, f"{slot.instructor_ids} ⊄ {qualified}"
        if query.instructor_id is not None:
            assert slot.instructor_ids == (query.instructor_id,)
        if query.wanted_mode is not None:
            assert slot.location_mode is query.wanted_mode


@PROPERTY
@given(cases(), st.data())
def test_check_booking_agrees_with_available_slots(case: Case, data: st.DataObject) -> None:
    slots = slots_of(case)
    if slots:
        slot = data.draw(st.sampled_from(slots))
        instructor = data.draw(st.sampled_from(slot.instructor_ids))
        refusal = _check(case, slot.start, instructor, slot.location_mode, slot.location_id)
        assert refusal is None, f"offered {slot} but check_booking says {refusal!r}"
    # Any other start: refused exactly when the full, unfiltered search does not offer it.
    start = case.now + timedelta(minutes=5 * data.draw(st.integers(0, 8 * 24 * 12)))
    start = start.replace(second=0, microsecond=0)
    instructor = data.draw(st.sampled_from((1, 2, 3)))
    mode = data.draw(st.sampled_from(list(LocationMode)))
    location = data.draw(st.sampled_from((1, 2))) if mode is LocationMode.IN_PERSON else None
    offered = (start, mode, location, instructor) in {
        (s, m, loc, i)
        for s, _, m, loc, i, _ in expected_offers(_unfiltered(case), case.school, case.now)
    }
    refusal = _check(case, start, instructor, mode, location)
    assert (refusal is None) == offered, f"offered={offered} but check_booking says {refusal!r}"


def _unfiltered(case: Case) -> SlotQuery:
    """The same type, any instructor, mode or location, over every day a check may hit."""
    spec = case.query.appointment_type
    return SlotQuery(spec, case.week - timedelta(days=2), case.week + timedelta(days=10))


def _check(case: Case, start, instructor, mode, location):
    return check_booking(
        case.query.appointment_type,
        case.school,
        start=start,
        instructor_id=instructor,
        location_mode=mode,
        location_id=location,
        now=case.now,
    )


def _utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


@settings(max_examples=max(EXAMPLES // 2, 10), deadline=None)
@given(cases(zones=(NEW_YORK,)))
def test_new_york_dst_weeks_match_the_oracle(case: Case) -> None:
    test_slots_match_the_slow_obvious_rules.hypothesis.inner_test(case)


@settings(max_examples=max(EXAMPLES // 2, 10), deadline=None)
@given(cases(zones=(LONDON,)))
def test_london_dst_weeks_match_the_oracle(case: Case) -> None:
    test_slots_match_the_slow_obvious_rules.hypothesis.inner_test(case)


@PROPERTY
@given(
    capacity=st.integers(2, 12),
    seat_rows=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    private_rows=st.integers(0, 1),
)
def test_group_seats_are_capacity_minus_seats_taken(
    capacity: int, seat_rows: list[int], private_rows: int
) -> None:
    spec = lesson_type(id=2, capacity=capacity, location_modes=frozenset({IN_PERSON}))
    rows = [
        booking(
            MONDAY,
            "10:00",
            "11:00",
            appointment_type_id=2,
            seats_taken=taken,
            capacity=capacity,
            location_mode=IN_PERSON,
            location_id=STUDIO,
            id=n,
        )
        for n, taken in enumerate(seat_rows)
    ]
    # A private lesson right after the class must not change its seat count.
    rows += [booking(MONDAY, "11:00", "11:30", id=99)] * private_rows
    cal = school(hours(start="09:00", end="13:00"), qualified={2: {7}}, bookings=tuple(rows))
    query = SlotQuery(spec, MONDAY, MONDAY + timedelta(days=1))
    at_ten = [s for s in available_slots(query, cal, NOW) if s.start.hour == 14]  # 10:00 EDT
    left = capacity - sum(seat_rows)
    expected = [left] if left > 0 else []
    got = [s.seats_left for s in at_ten]
    assert got == expected, (
        f"capacity {capacity}, seats {seat_rows}: expected {expected}, got {got}"
    )
