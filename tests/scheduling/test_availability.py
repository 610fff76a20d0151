"""available_slots: one behaviour per test, read as local wall-clock times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.scheduling import (
    DateOverride,
    SlotQuery,
    TimeOff,
    available_slots,
)

from .factories import (
    ANNEX,
    AT_HOME,
    IN_PERSON,
    MONDAY,
    NEW_YORK,
    NOW,
    ONLINE,
    STUDIO,
    at,
    booking,
    check,
    grid,
    hours,
    lesson_type,
    local_starts,
    school,
    slots_for,
)

IN_STUDIO = {"location_id": STUDIO}


def local_ends(slots: list, tz: str = NEW_YORK) -> list[str]:
    return [s.end.astimezone(ZoneInfo(tz)).strftime("%H:%M") for s in slots]


# --- hours and the grid -------------------------------------------------------------------


def test_slots_fill_the_window_on_the_step_grid() -> None:
    slots = slots_for(school(hours(start="09:00", end="12:00")), lesson_type(), **IN_STUDIO)
    check(local_starts(slots), grid("09:00", "11:00"))
    assert all(s.instructor_ids == (7,) and s.seats_left == 1 for s in slots)


def test_slot_end_is_start_plus_duration_in_utc() -> None:
    slot = slots_for(school(hours()), lesson_type(duration_minutes=45), **IN_STUDIO)[0]
    check((slot.start.tzinfo, slot.end - slot.start), (UTC, timedelta(minutes=45)))


def test_grid_is_anchored_at_the_window_start() -> None:
    cal = school(hours(start="09:10", end="10:30"))
    slots = slots_for(cal, lesson_type(duration_minutes=30), **IN_STUDIO)
    check(local_starts(slots), ["09:10", "09:25", "09:40", "09:55"])


def test_step_comes_from_the_appointment_type() -> None:
    spec = lesson_type(duration_minutes=60, slot_step_minutes=30)
    check(local_starts(slots_for(school(hours()), spec, **IN_STUDIO)), grid("09:00", "11:00", 30))


def test_touching_windows_with_equal_settings_let_a_lesson_cross_the_seam() -> None:
    cal = school(hours(start="09:00", end="10:00"), hours(start="10:00", end="11:00"))
    check(local_starts(slots_for(cal, lesson_type(), **IN_STUDIO)), grid("09:00", "10:00"))


def test_weekly_hours_only_apply_between_their_effective_dates() -> None:
    cal = school(
        hours(effective_until=MONDAY - timedelta(days=1)),
        hours(start="13:00", end="14:00", effective_from=MONDAY),
    )
    got = local_starts(slots_for(cal, lesson_type(), days=8, **IN_STUDIO))
    check(got, ["13:00", "13:00"])  # this Monday and next, never the old morning hours


def test_query_dates_are_local_and_end_exclusive() -> None:
    cal = school(*(hours(weekday=d, start="22:00", end="23:00") for d in range(7)))
    slots = slots_for(cal, lesson_type(), day=MONDAY, days=2, **IN_STUDIO)
    days = sorted({s.start.astimezone(cal.tz).date() for s in slots})
    check(days, [MONDAY, MONDAY + timedelta(days=1)])  # 22:00 local is the next day in UTC


def test_results_are_sorted_by_start_then_mode() -> None:
    cal = school(hours(), hours(instructor_id=8, start="09:30", end="12:00"))
    slots = slots_for(cal, lesson_type())
    keys = [(s.start, s.location_mode != IN_PERSON) for s in slots]
    check(keys, sorted(keys))


def test_empty_date_range_gives_no_slots() -> None:
    check(slots_for(school(hours()), lesson_type(), days=0), [])


def test_more_than_a_year_at_once_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 366 days"):
        slots_for(school(hours()), lesson_type(), days=400)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        slots_for(school(hours()), lesson_type(), now=datetime(2026, 5, 25, 12))


# --- overrides, time off, closures ---------------------------------------------------------


def test_date_override_replaces_that_days_weekly_hours() -> None:
    override = DateOverride(7, MONDAY, ((time(15), time(16, 30)),))
    cal = school(hours(), overrides=(override,))
    check(local_starts(slots_for(cal, lesson_type(), **IN_STUDIO)), grid("15:00", "15:30"))


def test_override_without_windows_is_a_day_off() -> None:
    cal = school(hours(), overrides=(DateOverride(7, MONDAY),))
    check(slots_for(cal, lesson_type(), **IN_STUDIO), [])


def test_override_leaves_other_dates_alone() -> None:
    cal = school(hours(), overrides=(DateOverride(7, MONDAY),))
    next_monday = MONDAY + timedelta(days=7)
    got = local_starts(slots_for(cal, lesson_type(), day=next_monday, **IN_STUDIO))
    check(got, grid("09:00", "11:00"))


def test_override_can_open_a_day_without_weekly_hours() -> None:
    sunday = MONDAY + timedelta(days=6)
    cal = school(hours(), overrides=(DateOverride(7, sunday, ((time(10), time(11)),)),))
    check(local_starts(slots_for(cal, lesson_type(), day=sunday, **IN_STUDIO)), ["10:00"])


def test_time_off_removes_starts_whose_lesson_would_touch_it() -> None:
    away = TimeOff(7, at(MONDAY, "10:00"), at(MONDAY, "10:30"))
    cal = school(hours(), time_off=(away,))
    got = local_starts(slots_for(cal, lesson_type(), **IN_STUDIO))
    check(got, ["09:00", "10:30", "10:45", "11:00"])


def test_buffers_may_reach_into_time_off() -> None:
    # Decision: time off and closures constrain the lesson, buffers only keep bookings apart.
    away = TimeOff(7, at(MONDAY, "08:00"), at(MONDAY, "09:00"))
    spec = lesson_type(buffer_before_minutes=15)
    cal = school(hours(), time_off=(away,))
    check(local_starts(slots_for(cal, spec, **IN_STUDIO))[0], "09:00")


def test_school_closure_blocks_every_instructor() -> None:
    closed = TimeOff(None, at(MONDAY, "00:00"), at(MONDAY + timedelta(days=1), "00:00"))
    cal = school(hours(), hours(instructor_id=8), time_off=(closed,))
    check(slots_for(cal, lesson_type(), days=2), [])


def test_time_off_of_one_instructor_leaves_the_other_bookable() -> None:
    away = TimeOff(7, at(MONDAY, "00:00"), at(MONDAY, "23:00"))
    cal = school(hours(), hours(instructor_id=8), time_off=(away,))
    slots = slots_for(cal, lesson_type(), **IN_STUDIO)
    check({s.instructor_ids for s in slots}, {(8,)})


# --- bookings and buffers ------------------------------------------------------------------


def test_booking_blocks_every_start_that_would_overlap_it() -> None:
    cal = school(hours(), bookings=(booking(MONDAY, "10:00", "11:00"),))
    got = local_starts(slots_for(cal, lesson_type(), **IN_STUDIO))
    check(got, ["09:00", "11:00"])


def test_buffers_on_both_sides_keep_lessons_apart() -> None:
    existing = booking(MONDAY, "10:00", "10:30", buffer_before_minutes=10, buffer_after_minutes=15)
    spec = lesson_type(duration_minutes=30, buffer_before_minutes=5, buffer_after_minutes=5)
    cal = school(hours(), bookings=(existing,))
    got = local_starts(slots_for(cal, spec, **IN_STUDIO))
    # before: start + 30 + 5 <= 09:50 -> 09:15 ; after: start - 5 >= 10:45 -> 10:50 -> grid 11:00
    check(got, ["09:00", "09:15", "11:00", "11:15", "11:30"])


def test_buffered_ranges_that_only_touch_do_not_clash() -> None:
    existing = booking(MONDAY, "10:00", "11:00", buffer_after_minutes=15)
    spec = lesson_type(buffer_before_minutes=15)
    cal = school(hours(start="09:00", end="13:00"), bookings=(existing,))
    assert "11:30" in local_starts(slots_for(cal, spec, **IN_STUDIO))


def test_another_instructors_booking_does_not_block() -> None:
    cal = school(hours(), bookings=(booking(MONDAY, "09:00", "12:00", instructor_id=8),))
    check(len(slots_for(cal, lesson_type(), **IN_STUDIO)), 9)


def test_excluded_booking_is_ignored_so_it_can_be_moved() -> None:
    moving = booking(MONDAY, "09:00", "12:00", id=55)
    cal = school(hours(), bookings=(moving,))
    check(slots_for(cal, lesson_type(), **IN_STUDIO), [])
    freed = slots_for(cal, lesson_type(), exclude_booking_ids={55}, **IN_STUDIO)
    check(len(freed), 9)


def test_naive_booking_times_are_refused_when_indexed() -> None:
    bad = booking(MONDAY, "09:00", "10:00")._replace(start=datetime(2026, 6, 1, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        slots_for(school(hours(), bookings=(bad,)), lesson_type())


# --- notice and advance --------------------------------------------------------------------


def test_min_notice_hides_starts_that_are_too_soon() -> None:
    now = at(MONDAY, "08:00")
    spec = lesson_type(min_notice_hours=2)
    check(local_starts(slots_for(school(hours()), spec, now=now, **IN_STUDIO))[0], "10:00")


def test_max_advance_hides_starts_that_are_too_far_ahead() -> None:
    now = at(MONDAY, "10:00") - timedelta(days=3)
    spec = lesson_type(max_advance_days=3)
    check(
        local_starts(slots_for(school(hours()), spec, now=now, **IN_STUDIO)), grid("09:00", "10:00")
    )


def test_the_past_is_never_offered() -> None:
    now = at(MONDAY, "10:05")
    check(
        local_starts(slots_for(school(hours()), lesson_type(), now=now, **IN_STUDIO)),
        ["10:15", "10:30", "10:45", "11:00"],
    )


# --- qualifications ------------------------------------------------------------------------


def test_only_qualified_instructors_are_offered() -> None:
    cal = school(hours(), hours(instructor_id=8), qualified={1: {8}})
    check({s.instructor_ids for s in slots_for(cal, lesson_type())}, {(8,)})


def test_type_nobody_is_qualified_for_has_no_slots() -> None:
    check(slots_for(school(hours(), qualified={}), lesson_type()), [])


def test_asking_for_an_unqualified_instructor_gives_nothing() -> None:
    cal = school(hours(), hours(instructor_id=8), qualified={1: {8}})
    check(slots_for(cal, lesson_type(), instructor_id=7), [])


def test_one_slot_lists_every_free_instructor_sorted() -> None:
    cal = school(hours(instructor_id=9), hours(instructor_id=3), hours(instructor_id=5))
    cal = school(*cal.windows, bookings=(booking(MONDAY, "09:00", "10:00", instructor_id=5),))
    first, *_ = slots_for(cal, lesson_type(), **IN_STUDIO)
    check(first.instructor_ids, (3, 9))


def test_instructor_filter_keeps_only_that_instructor() -> None:
    cal = school(hours(), hours(instructor_id=8))
    slots = slots_for(cal, lesson_type(), instructor_id=8, **IN_STUDIO)
    check({s.instructor_ids for s in slots}, {(8,)})


# --- modes and locations -------------------------------------------------------------------


def test_untied_window_offers_every_mode_and_location_the_type_has() -> None:
    spec = lesson_type(
        duration_minutes=180,
        location_modes=frozenset({IN_PERSON, ONLINE, AT_HOME}),
        location_ids=frozenset({STUDIO, ANNEX}),
    )
    got = [(s.location_mode, s.location_id) for s in slots_for(school(hours()), spec)]
    check(got, [(IN_PERSON, STUDIO), (IN_PERSON, ANNEX), (ONLINE, None), (AT_HOME, None)])


def test_in_person_only_where_the_type_is_offered() -> None:
    cal = school(hours(location_id=ANNEX))
    check(slots_for(cal, lesson_type(), location_mode=IN_PERSON), [])


def test_window_tied_to_a_location_offers_only_that_location() -> None:
    spec = lesson_type(duration_minutes=180, location_ids=frozenset({STUDIO, ANNEX}))
    slots = slots_for(school(hours(location_id=ANNEX)), spec, location_mode=IN_PERSON)
    check([(s.location_mode, s.location_id) for s in slots], [(IN_PERSON, ANNEX)])


def test_online_only_window_offers_no_in_person_slots() -> None:
    thursday = MONDAY + timedelta(days=3)
    cal = school(hours(weekday=3, modes=frozenset({ONLINE})))
    slots = slots_for(cal, lesson_type(duration_minutes=180), day=thursday)
    check([s.location_mode for s in slots], [ONLINE])


def test_at_home_needs_both_the_type_and_the_window_to_allow_it() -> None:
    home_type = lesson_type(location_modes=frozenset({AT_HOME}))
    check(len(slots_for(school(hours()), home_type)), 9)
    check(slots_for(school(hours(modes=frozenset({IN_PERSON, ONLINE}))), home_type), [])
    check(slots_for(school(hours()), lesson_type(), location_mode=AT_HOME), [])


def test_a_location_on_its_own_means_in_person_there() -> None:
    slots = slots_for(school(hours()), lesson_type(), location_id=STUDIO)
    check({(s.location_mode, s.location_id) for s in slots}, {(IN_PERSON, STUDIO)})


def test_online_query_with_a_location_is_refused() -> None:
    with pytest.raises(ValueError, match="in-person"):
        SlotQuery(lesson_type(), MONDAY, MONDAY, location_mode=ONLINE, location_id=STUDIO)


# --- group classes -------------------------------------------------------------------------

YOGA = 2


def yoga(**overrides: object):
    values = {"id": YOGA, "capacity": 8, "location_modes": frozenset({IN_PERSON})}
    values.update(overrides)
    return lesson_type(**values)


def session(start: str, end: str, taken: int, **overrides: object):
    values = {
        "appointment_type_id": YOGA,
        "seats_taken": taken,
        "capacity": 8,
        "location_mode": IN_PERSON,
        "location_id": STUDIO,
    }
    values.update(overrides)
    return booking(MONDAY, start, end, **values)


def group_school(*bookings, **kw):
    qualified = {YOGA: {7, 8}, 1: {7, 8}}
    return school(hours(), hours(instructor_id=8), qualified=qualified, bookings=bookings, **kw)


def test_group_class_offers_a_new_session_with_every_seat() -> None:
    first = slots_for(group_school(), yoga())[0]
    check((first.seats_left, first.seats_left_by_instructor), (8, ((7, 8), (8, 8))))


def test_open_session_is_offered_with_the_seats_left() -> None:
    cal = group_school(session("10:00", "11:00", taken=5))
    ten = next(s for s in slots_for(cal, yoga()) if local_starts([s]) == ["10:00"])
    check(ten.seats_left_by_instructor, ((7, 3), (8, 8)))


def test_full_session_is_not_offered_and_blocks_its_instructor() -> None:
    cal = group_school(session("10:00", "11:00", taken=8))
    slots = [s for s in slots_for(cal, yoga()) if 7 in s.instructor_ids]
    check(local_starts(slots), ["09:00", "11:00"])


def test_seat_rows_of_one_session_are_added_up() -> None:
    cal = group_school(session("10:00", "11:00", taken=3), session("10:00", "11:00", taken=4))
    ten = next(s for s in slots_for(cal, yoga(), instructor_id=7) if local_starts([s]) == ["10:00"])
    check(ten.seats_left, 1)


def test_session_of_another_type_keeps_the_instructor_busy() -> None:
    cal = group_school(session("10:00", "11:00", taken=1, appointment_type_id=99))
    got = local_starts(slots_for(cal, yoga(), instructor_id=7))
    check(got, ["09:00", "11:00"])


def test_open_session_off_the_grid_is_still_offered() -> None:
    cal = group_school(session("10:05", "11:05", taken=2))
    got = local_starts(slots_for(cal, yoga(), instructor_id=7))
    check(got, ["09:00", "10:05"])  # after it: 11:15 + 60 min would end after 12:00


def test_open_session_is_only_joinable_in_its_own_mode() -> None:
    spec = yoga(location_modes=frozenset({IN_PERSON, ONLINE}))
    cal = group_school(session("10:00", "11:00", taken=2))
    ten = [s for s in slots_for(cal, spec, instructor_id=7) if local_starts([s]) == ["10:00"]]
    check([(s.location_mode, s.seats_left) for s in ten], [(IN_PERSON, 6)])


def test_private_type_never_joins_a_session() -> None:
    cal = group_school(session("10:00", "11:00", taken=1, appointment_type_id=1))
    got = local_starts(slots_for(cal, lesson_type(), instructor_id=7, **IN_STUDIO))
    check(got, ["09:00", "11:00"])


# --- time zones and DST --------------------------------------------------------------------

SPRING_FORWARD = date(2026, 3, 8)  # New York: 02:00 jumps to 03:00
FALL_BACK = date(2026, 11, 1)  # New York: 02:00 goes back to 01:00
SUNDAY = 6
WINTER_NOW = datetime(2026, 1, 5, tzinfo=UTC)


def night_school():
    return school(hours(weekday=SUNDAY, start="00:00", end="05:00"))


def test_no_slot_at_nonexistent_spring_forward_time() -> None:
    slots = slots_for(
        night_school(), lesson_type(), day=SPRING_FORWARD, now=WINTER_NOW, **IN_STUDIO
    )
    got = local_starts(slots)
    assert not [t for t in got if t.startswith("02:")], f"expected no 02:xx slot, got {got}"
    check(got[:4], ["00:00", "00:15", "00:30", "00:45"])
    assert "03:00" in got


def test_grid_skips_the_gap_instead_of_shifting_past_it() -> None:
    # 02:15 does not exist; read with the old offset it would be 03:15 EDT, off the grid.
    spec = lesson_type(duration_minutes=30, slot_step_minutes=45)
    slots = slots_for(night_school(), spec, day=SPRING_FORWARD, now=WINTER_NOW, **IN_STUDIO)
    check(local_starts(slots), ["00:00", "00:45", "01:30", "03:00", "03:45", "04:30"])


def test_slot_end_is_real_elapsed_time_across_the_jump() -> None:
    slots = slots_for(
        night_school(), lesson_type(), day=SPRING_FORWARD, now=WINTER_NOW, **IN_STUDIO
    )
    half_past_one = next(s for s in slots if local_starts([s]) == ["01:30"])
    check(half_past_one.end - half_past_one.start, timedelta(hours=1))
    check(local_ends([half_past_one]), ["03:30"])  # 01:30 EST + 1 h = 03:30 EDT


def test_repeated_fall_back_hour_is_offered_once() -> None:
    slots = slots_for(night_school(), lesson_type(), day=FALL_BACK, **IN_STUDIO)
    got = local_starts(slots)
    check(len(got), len(set(got)))
    one_thirty = next(s for s in slots if local_starts([s]) == ["01:30"])
    check(
        one_thirty.start.astimezone(at(FALL_BACK, "00:00").tzinfo).utcoffset(), timedelta(hours=-4)
    )


def test_weekly_hours_stay_at_the_same_local_time_across_dst() -> None:
    cal = school(hours(weekday=SUNDAY, start="17:00", end="18:00"))
    before = slots_for(
        cal, lesson_type(), day=SPRING_FORWARD - timedelta(days=7), now=WINTER_NOW, **IN_STUDIO
    )
    after = slots_for(
        cal, lesson_type(), day=SPRING_FORWARD + timedelta(days=7), now=WINTER_NOW, **IN_STUDIO
    )
    check((local_starts(before), local_starts(after)), (["17:00"], ["17:00"]))
    check((before[0].start.hour, after[0].start.hour), (22, 21))


def test_query_days_follow_the_school_zone_not_utc() -> None:
    cal = school(hours(start="20:00", end="21:00"), tz=NEW_YORK)
    slots = available_slots(
        SlotQuery(lesson_type(), MONDAY, MONDAY + timedelta(days=1), location_id=STUDIO), cal, NOW
    )
    check([s.start for s in slots], [datetime(2026, 6, 2, 0, tzinfo=UTC)])


# --- windows of several settings at one start ---------------------------------------------


def test_overlapping_windows_of_one_instructor_offer_each_start_once() -> None:
    # 09:00-11:00 at the studio and 10:00-12:00 anywhere: both offer the studio from 10:00.
    cal = school(
        hours(start="09:00", end="11:00", location_id=STUDIO), hours(start="10:00", end="12:00")
    )
    slots = slots_for(cal, lesson_type(), location_mode=IN_PERSON, location_id=STUDIO)
    check(local_starts(slots), grid("09:00", "11:00"))
    check({s.instructor_ids for s in slots}, {(7,)})
    check({s.seats_left_by_instructor for s in slots}, {((7, 1),)})


def test_a_mode_offered_by_windows_of_different_settings_lists_every_instructor() -> None:
    # Instructor 8 teaches at the studio or online, instructor 7 online only: the online
    # slots have both, in id order; the studio slots only 8.
    cal = school(
        hours(instructor_id=8, start="09:00", end="10:00", location_id=STUDIO),
        hours(instructor_id=7, start="09:00", end="10:00", modes=frozenset({ONLINE})),
    )
    slots = slots_for(cal, lesson_type(duration_minutes=30))
    by_mode = {
        mode: [s.instructor_ids for s in slots if s.location_mode is mode]
        for mode in (IN_PERSON, ONLINE)
    }
    check(by_mode, {IN_PERSON: [(8,)] * 3, ONLINE: [(7, 8)] * 3})
    check(
        {s.seats_left_by_instructor for s in slots if s.location_mode is ONLINE}, {((7, 1), (8, 1))}
    )
