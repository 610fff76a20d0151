"""Weekly lesson series ("every Tuesday at 17:00 until June").

The rule runs on the school's wall clock, not in UTC, so a 17:00 lesson stays at 17:00 local
when the clocks change (its UTC time moves by an hour instead).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from dateutil.rrule import WEEKLY, rrule

from .local_time import school_zone
from .model import _require_aware

MAX_SERIES_LESSONS = 52


def weekly_occurrences(
    first_start: datetime,
    tz: str,
    count: int | None = None,
    until_local: date | None = None,
) -> list[datetime]:
    """Start times of a weekly series, as aware UTC datetimes, first lesson included.

    Give count (1–52), until_local (last local date that may hold a lesson), or both (the
    series stops at whichever comes first). A local time that does not exist on some date
    (spring-forward night) is read as iCalendar does: with the offset from before the jump.
    """
    _require_aware(first_start, "first_start")
    zone = school_zone(tz)
    first_local = first_start.astimezone(zone).replace(tzinfo=None, fold=0)
    _check_series_limits(first_local.date(), count, until_local)
    until = None if until_local is None else datetime.combine(until_local, time.max)
    rule = rrule(WEEKLY, dtstart=first_local, count=count, until=until)
    # Stop one past the limit so an over-long "until" series is reported, not cut silently.
    walls = [w for _, w in zip(range(MAX_SERIES_LESSONS + 1), rule, strict=False)]
    if len(walls) > MAX_SERIES_LESSONS:
        raise ValueError(
            f"a weekly series can have at most {MAX_SERIES_LESSONS} lessons; "
            "choose an earlier end date"
        )
    return [w.replace(tzinfo=zone).astimezone(UTC) for w in walls]


def _check_series_limits(first_day: date, count: int | None, until_local: date | None) -> None:
    if count is None and until_local is None:
        raise ValueError("say how many lessons (count) or until which date (until_local)")
    if count is not None and not 1 <= count <= MAX_SERIES_LESSONS:
        raise ValueError(f"a weekly series has 1 to {MAX_SERIES_LESSONS} lessons, not {count}")
    if until_local is not None and until_local < first_day:
        raise ValueError(
            f"the series would end ({until_local}) before its first lesson ({first_day})"
        )
