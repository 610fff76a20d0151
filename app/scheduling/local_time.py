"""Wall-clock ↔ UTC conversions for the school's time zone.

Rule used everywhere (the one RFC 5545 / iCalendar uses, and Python's ``fold=0``):
- a wall time that happens twice (autumn fall-back) means the *first* one;
- a wall time that never happens (spring-forward gap) is read with the offset from before
  the gap, so 02:30 on the New York spring-forward night means 03:30 EDT.
Slot start times are never generated inside a gap, see ``exists_locally``.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from math import ceil, floor
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_LAST_SECOND = time(23, 59, 59)
_SECOND = timedelta(seconds=1)


def _epochs_of_utc_zones() -> dict[tzinfo | None, datetime]:
    """1970-01-01 00:00 in each zone that is UTC under another name.

    psycopg hands out datetimes in ZoneInfo("Etc/UTC"), whose timestamp() asks the zone for
    its offset and costs ~3x that of datetime.UTC. Subtracting an epoch in the *same* zone
    skips the zone entirely (Python then subtracts wall times), which is exact for a zone
    whose offset is always 0. ZoneInfo("Etc/UTC") is cached, so psycopg's is this one.
    """
    zones: list[tzinfo] = [UTC]
    for name in ("Etc/UTC", "UTC"):
        with suppress(ZoneInfoNotFoundError):  # tzdata always has both; just in case
            zones.append(ZoneInfo(name))
    return {zone: datetime(1970, 1, 1, tzinfo=zone) for zone in zones}


_UTC_EPOCHS = _epochs_of_utc_zones()
_EPOCH = _UTC_EPOCHS[UTC]


def epoch_to_subtract(zone: tzinfo | None) -> datetime:
    """1970-01-01 UTC, in ``zone`` when that is a UTC zone (the fast case, see above).

    ``(moment - epoch) // timedelta(seconds=1)`` is then the exact floor timestamp of any
    aware moment (Python subtracts aware datetimes of different zones by their offsets),
    and raises TypeError for a naive one.
    """
    return _UTC_EPOCHS.get(zone, _EPOCH)


@lru_cache(maxsize=64)
def school_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; raises ZoneInfoNotFoundError for a typo."""
    return ZoneInfo(name)


def local_to_utc(day_local: date, time_local: time, tz: ZoneInfo) -> datetime:
    """The UTC moment of a local wall time (first occurrence; gaps read with the old offset)."""
    return datetime.combine(
        day_local, time_local.replace(tzinfo=None, fold=0), tzinfo=tz
    ).astimezone(UTC)


def exists_locally(day_local: date, time_local: time, tz: ZoneInfo) -> bool:
    """False for a wall time skipped by a spring-forward jump (e.g. 02:30 on that night)."""
    wall = datetime.combine(day_local, time_local.replace(tzinfo=None, fold=0))
    back = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == wall


@lru_cache(maxsize=4096)
def steady_offset_seconds(day_local: date, tz: ZoneInfo) -> int | None:
    """The UTC offset (seconds) valid for the whole local day, or None on a DST-change day.

    On a steady day every wall time maps to UTC by plain subtraction, which is what makes
    slot generation cheap; change days take the careful path.
    """
    offsets = {
        _offset(datetime.combine(day_local, t, tzinfo=tz).replace(fold=fold))
        for t in (time(0), _LAST_SECOND)
        for fold in (0, 1)
    }
    if len(offsets) != 1:
        return None
    return offsets.pop()


def _offset(moment: datetime) -> int:
    offset = moment.utcoffset()
    assert offset is not None  # moment carries a ZoneInfo
    return int(offset.total_seconds())


def local_midnight_seconds(day_local: date) -> int:
    """Seconds from 1970-01-01 00:00 to local midnight of day_local, on the wall clock."""
    return (day_local.toordinal() - _EPOCH_ORDINAL) * 86400


def seconds_of_day(time_local: time) -> int:
    return time_local.hour * 3600 + time_local.minute * 60 + time_local.second


def time_of_day(seconds: int) -> time:
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def to_timestamp(moment: datetime) -> int:
    """Whole seconds since the epoch for an aware datetime, rounded down."""
    epoch = _UTC_EPOCHS.get(moment.tzinfo)
    if epoch is None:
        return floor(moment.timestamp())
    return (moment - epoch) // _SECOND


def to_timestamp_up(moment: datetime) -> int:
    """Whole seconds since the epoch, rounded up: for the end of a busy range."""
    epoch = _UTC_EPOCHS.get(moment.tzinfo)
    if epoch is None:
        return ceil(moment.timestamp())
    return -((epoch - moment) // _SECOND)


def from_timestamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def local_date_of(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


ONE_DAY = timedelta(days=1)
