"""Wall clock ↔ UTC in the school zone: the DST rules everything else relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.scheduling.local_time import (
    exists_locally,
    local_midnight_seconds,
    local_to_utc,
    seconds_of_day,
    steady_offset_seconds,
)

from .factories import LONDON, NEW_YORK

NY, LDN = ZoneInfo(NEW_YORK), ZoneInfo(LONDON)


def test_spring_forward_half_past_two_does_not_exist_in_new_york() -> None:
    assert not exists_locally(date(2026, 3, 8), time(2, 30), NY)
    assert exists_locally(date(2026, 3, 8), time(3, 0), NY)
    assert exists_locally(date(2026, 3, 9), time(2, 30), NY)


def test_london_skips_one_oclock_in_spring() -> None:
    assert not exists_locally(date(2026, 3, 29), time(1, 15), LDN)


def test_repeated_time_means_the_first_pass() -> None:
    got = local_to_utc(date(2026, 11, 1), time(1, 30), NY)
    assert got == datetime(2026, 11, 1, 5, 30, tzinfo=UTC), got  # 01:30 EDT


def test_time_in_the_gap_is_read_with_the_offset_from_before() -> None:
    got = local_to_utc(date(2026, 3, 8), time(2, 30), NY)
    assert got == datetime(2026, 3, 8, 7, 30, tzinfo=UTC), got  # = 03:30 EDT


def test_change_days_have_no_steady_offset() -> None:
    for day, zone in [
        (date(2026, 3, 8), NY),
        (date(2026, 11, 1), NY),
        (date(2026, 3, 29), LDN),
        (date(2026, 10, 25), LDN),
    ]:
        assert steady_offset_seconds(day, zone) is None, f"{day} in {zone} should not be steady"


def test_ordinary_day_has_its_offset() -> None:
    assert steady_offset_seconds(date(2026, 6, 1), NY) == -4 * 3600
    assert steady_offset_seconds(date(2026, 1, 5), LDN) == 0


@settings(max_examples=100, deadline=None)
@given(
    zone=st.sampled_from([NY, LDN]),
    day=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    minute=st.integers(0, 24 * 60 - 1),
)
def test_steady_offset_matches_zoneinfo_all_day(zone: ZoneInfo, day: date, minute: int) -> None:
    offset = steady_offset_seconds(day, zone)
    wall = time(minute // 60, minute % 60)
    if offset is None:
        return
    expected = local_to_utc(day, wall, zone)
    fast = local_midnight_seconds(day) + seconds_of_day(wall) - offset
    got = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=fast)
    assert got == expected, f"{day} {wall} in {zone}: expected {expected}, got {got}"
