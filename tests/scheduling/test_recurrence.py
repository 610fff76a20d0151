"""weekly_occurrences: weekly series on the school's wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.scheduling import MAX_SERIES_LESSONS, weekly_occurrences

from .factories import LONDON, NEW_YORK, check


def local(moments: list[datetime], tz: str) -> list[str]:
    return [m.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") for m in moments]


def test_weekly_17_00_stays_17_00_local_across_spring_forward() -> None:
    first = datetime(2026, 3, 1, 17, tzinfo=ZoneInfo(NEW_YORK))
    got = weekly_occurrences(first, NEW_YORK, count=3)
    check(local(got, NEW_YORK), ["2026-03-01 17:00", "2026-03-08 17:00", "2026-03-15 17:00"])
    check([m.hour for m in got], [22, 21, 21])  # the UTC time moves instead


def test_weekly_17_00_stays_17_00_local_across_london_fall_back() -> None:
    first = datetime(2026, 10, 20, 17, tzinfo=ZoneInfo(LONDON))
    got = weekly_occurrences(first, LONDON, count=2)
    check(local(got, LONDON), ["2026-10-20 17:00", "2026-10-27 17:00"])
    check([m.hour for m in got], [16, 17])


def test_occurrences_are_aware_utc() -> None:
    got = weekly_occurrences(datetime(2026, 6, 1, 9, tzinfo=UTC), NEW_YORK, count=2)
    assert all(m.tzinfo is UTC for m in got), got


def test_first_start_may_be_given_in_any_zone() -> None:
    first = datetime(2026, 3, 1, 22, tzinfo=UTC)  # 17:00 in New York
    check(local(weekly_occurrences(first, NEW_YORK, count=2), NEW_YORK)[1], "2026-03-08 17:00")


def test_until_local_is_the_last_date_that_may_hold_a_lesson() -> None:
    first = datetime(2026, 6, 1, 17, tzinfo=ZoneInfo(NEW_YORK))
    got = weekly_occurrences(first, NEW_YORK, until_local=date(2026, 6, 15))
    check(len(got), 3)


def test_count_and_until_stop_at_whichever_comes_first() -> None:
    first = datetime(2026, 6, 1, 17, tzinfo=ZoneInfo(NEW_YORK))
    check(len(weekly_occurrences(first, NEW_YORK, count=10, until_local=date(2026, 6, 8))), 2)
    check(len(weekly_occurrences(first, NEW_YORK, count=2, until_local=date(2026, 12, 1))), 2)


def test_lesson_at_a_time_skipped_by_the_clock_change_moves_an_hour_later() -> None:
    # As iCalendar does: 02:30 on the spring-forward night is read with the old offset.
    first = datetime(2026, 3, 1, 2, 30, tzinfo=ZoneInfo(NEW_YORK))
    got = weekly_occurrences(first, NEW_YORK, count=3)
    check(local(got, NEW_YORK), ["2026-03-01 02:30", "2026-03-08 03:30", "2026-03-15 02:30"])


def test_repeated_hour_means_its_first_pass() -> None:
    first = datetime(2026, 10, 25, 1, 30, tzinfo=ZoneInfo(NEW_YORK))
    got = weekly_occurrences(first, NEW_YORK, count=2)
    check(got[1].astimezone(ZoneInfo(NEW_YORK)).utcoffset(), timedelta(hours=-4))


@pytest.mark.parametrize("count", [0, -1, MAX_SERIES_LESSONS + 1])
def test_count_outside_1_to_52_is_refused_in_words(count: int) -> None:
    with pytest.raises(ValueError, match="1 to 52 lessons"):
        weekly_occurrences(datetime(2026, 6, 1, 17, tzinfo=UTC), NEW_YORK, count=count)


def test_series_needs_a_count_or_an_end_date() -> None:
    with pytest.raises(ValueError, match="how many lessons"):
        weekly_occurrences(datetime(2026, 6, 1, 17, tzinfo=UTC), NEW_YORK)


def test_end_date_before_the_first_lesson_is_refused() -> None:
    with pytest.raises(ValueError, match="before its first lesson"):
        weekly_occurrences(
            datetime(2026, 6, 1, 17, tzinfo=UTC), NEW_YORK, until_local=date(2026, 5, 1)
        )


def test_end_date_too_far_away_is_refused_not_cut_short() -> None:
    with pytest.raises(ValueError, match="at most 52 lessons"):
        weekly_occurrences(
            datetime(2026, 6, 1, 17, tzinfo=UTC), NEW_YORK, until_local=date(2028, 1, 1)
        )


def test_naive_first_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        weekly_occurrences(datetime(2026, 6, 1, 17), NEW_YORK, count=2)


@settings(max_examples=60, deadline=None)
@given(
    tz=st.sampled_from([NEW_YORK, LONDON]),
    first_local=st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)).map(
        lambda d: d.replace(minute=d.minute // 5 * 5, second=0, microsecond=0)
    ),
    count=st.integers(1, MAX_SERIES_LESSONS),
)
def test_every_occurrence_keeps_the_local_weekday_and_time(
    tz: str, first_local: datetime, count: int
) -> None:
    zone = ZoneInfo(tz)
    first = first_local.replace(tzinfo=zone)
    got = weekly_occurrences(first, tz, count=count)
    assert len(got) == count, f"expected {count} lessons, got {len(got)}"
    assert got == sorted(set(got)), "occurrences are not strictly increasing"
    first_wall = first.astimezone(zone).replace(tzinfo=None, fold=0)
    for n, moment in enumerate(got):
        wall = first_wall + timedelta(weeks=n)
        exists = (
            wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
        )
        if exists:
            got_wall = moment.astimezone(zone).replace(tzinfo=None)
            assert got_wall == wall, f"lesson {n}: expected {wall} local, got {got_wall}"
