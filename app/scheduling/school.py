"""SchoolCalendar: everything the slot finder needs to know about one school, indexed once.

Build one per request (or cache it while the school's data is unchanged); every query against
it then works on integer UTC timestamps, per-instructor sorted lists and bisect, never on
"every booking × every slot".
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import partial
from itertools import islice, repeat
from operator import add, attrgetter, floordiv, le, lt, mul, neg, sub
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

from .local_time import (
    epoch_to_subtract,
    local_midnight_seconds,
    local_to_utc,
    school_zone,
    seconds_of_day,
    steady_offset_seconds,
    time_of_day,
    to_timestamp,
    to_timestamp_up,
)
from .model import (
    BusyBooking,
    DateOverride,
    LocationMode,
    OverrideWindow,
    TimeOff,
    WorkingWindow,
)

_SECOND = timedelta(seconds=1)


class DayWindow(NamedTuple):
    """One instructor's hours on one local date, resolved to UTC timestamps (seconds)."""

    day_local: date
    start_ts: int
    end_ts: int
    start_wall: int  # seconds after local midnight: the slot grid is anchored here
    end_wall: int
    location_id: int | None
    modes: frozenset[LocationMode]
    steady: bool  # no DST change that day, so wall time and UTC differ by a fixed offset


WallWindow = tuple[int, int, int | None, frozenset[LocationMode]]  # start, end (s), place, modes


class Busy(NamedTuple):
    """A booking as the index keeps it (UTC seconds): occupied = lesson plus its own buffers."""

    occupied_start: int
    occupied_end: int
    start: int
    end: int
    booking: BusyBooking

    @property
    def session_key(self) -> tuple[int, int, int, LocationMode | None, int | None]:
        """Rows with the same key are seats of one group session."""
        b = self.booking
        return (b.appointment_type_id, self.start, self.end, b.location_mode, b.location_id)


class Ranges:
    """Sorted, merged [start, end) ranges of seconds with fast "what overlaps this?" lookups."""

    __slots__ = ("ends", "starts")

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(ranges):
            if ends and start <= ends[-1]:  # overlaps or touches the last one: extend it
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        self.starts = starts
        self.ends = ends

    def overlapping(self, start: int, end: int) -> list[tuple[int, int]]:
        """Ranges that overlap [start, end) (touching does not count)."""
        starts, ends = self.starts, self.ends
        if not starts:  # the usual case: asked once per window of hours
            return []
        first = bisect_right(ends, start)
        last = bisect_left(starts, end, lo=first)
        return list(zip(starts[first:last], ends[first:last], strict=True))

    def overlaps(self, start: int, end: int) -> bool:
        return bool(self.overlapping(start, end))


_NO_RANGES = Ranges(())


class InstructorBookings:
    """One instructor's bookings sorted by occupied start, as parallel lists of UTC seconds,
    plus the longest occupied range, which bounds how far back a bisect must look for
    something still running.

    Lists of ints rather than a tuple per booking: tens of thousands per request, and ints
    are neither built one by one in Python nor followed by the cyclic GC. ``Busy`` rows are
    made only for the few bookings a caller asks about (``near``).
    """

    __slots__ = ("bookings", "ends", "longest", "occupied_ends", "occupied_starts", "starts")

    def __init__(self, bookings: Sequence[BusyBooking]) -> None:
        starts, ends = _seconds_of(bookings)
        occupied_starts = list(map(sub, starts, map(mul, map(_before_of, bookings), repeat(60))))
        occupied_ends = list(map(add, ends, map(mul, map(_after_of, bookings), repeat(60))))
        columns = [occupied_starts, occupied_ends, starts, ends, list(bookings)]
        if not all(map(le, occupied_starts, islice(occupied_starts, 1, None))):
            order = sorted(range(len(starts)), key=occupied_starts.__getitem__)
            columns = [list(map(column.__getitem__, order)) for column in columns]
        self.occupied_starts, self.occupied_ends, self.starts, self.ends, self.bookings = columns
        self.longest = max(map(sub, self.occupied_ends, self.occupied_starts), default=0)

    def span(self, start: int, end: int) -> slice:
        """Positions of the bookings whose occupied range may overlap [start, end)."""
        lo = bisect_left(self.occupied_starts, start - self.longest)
        return slice(lo, bisect_left(self.occupied_starts, end, lo=lo))

    def near(self, start: int, end: int) -> list[Busy]:
        """Rows whose occupied range may overlap [start, end); callers test each exactly."""
        at = self.span(start, end)
        return list(
            map(
                _new_busy,
                zip(
                    self.occupied_starts[at],
                    self.occupied_ends[at],
                    self.starts[at],
                    self.ends[at],
                    self.bookings[at],
                    strict=True,
                ),
            )
        )


_new_busy = partial(tuple.__new__, Busy)  # Busy(...) without its Python-level __new__


def _seconds_of(bookings: Sequence[BusyBooking]) -> tuple[list[int], list[int]]:
    """Start and end of each booking in UTC seconds; starts round down and ends up, never
    shrinking a booking.

    Every step is a ``map`` over the whole list (the loops run in C). Subtracting an epoch in
    the rows' own zone (see ``epoch_to_subtract``) is the cheapest exact way from a datetime
    to seconds; rows of one query share one zone object, and with mixed zones the UTC epoch
    is still exact (Python subtracts by offsets). Values are checked here rather than in
    BusyBooking, as this touches each one anyway.
    """
    starts_at = list(map(_start_of, bookings))
    ends_at = list(map(_end_of, bookings))
    zones = set(map(_zone_of, starts_at))
    zones.update(map(_zone_of, ends_at))
    epoch = epoch_to_subtract(zones.pop() if len(zones) == 1 else None)
    try:
        starts = list(map(floordiv, map(sub, starts_at, repeat(epoch)), repeat(_SECOND)))
        ends = list(map(neg, map(floordiv, map(sub, repeat(epoch), ends_at), repeat(_SECOND))))
    except TypeError:  # naive minus aware
        naive = next(b for b in bookings if b.start.tzinfo is None or b.end.tzinfo is None)
        raise ValueError(f"booking times must be timezone-aware: {naive!r}") from None
    if not all(map(lt, starts, ends)):
        empty = next(b for b, s, e in zip(bookings, starts, ends, strict=True) if e <= s)
        raise ValueError(f"a booking must end after it starts: {empty!r}")
    return starts, ends


_start_of = attrgetter("start")
_end_of = attrgetter("end")
_zone_of = attrgetter("tzinfo")
_before_of = attrgetter("buffer_before_minutes")
_after_of = attrgetter("buffer_after_minutes")


_NO_BOOKINGS = InstructorBookings(())


@dataclass(frozen=True)
class SchoolCalendar:
    """One school's hours, exceptions, time off, bookings and who may teach what.

    qualifications maps an appointment type id to the instructors who may teach it; a type
    missing from the mapping has nobody qualified (safer than "everybody").
    """

    time_zone: str
    windows: tuple[WorkingWindow, ...] = ()
    overrides: tuple[DateOverride, ...] = ()
    time_off: tuple[TimeOff, ...] = ()
    bookings: tuple[BusyBooking, ...] = ()
    qualifications: Mapping[int, frozenset[int]] = field(default_factory=dict)
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_field = object.__setattr__  # frozen: normalise inputs once, here
        set_field(self, "windows", tuple(self.windows))
        set_field(self, "overrides", tuple(self.overrides))
        set_field(self, "time_off", tuple(self.time_off))
        set_field(self, "bookings", tuple(self.bookings))
        set_field(
            self,
            "qualifications",
            MappingProxyType({k: frozenset(v) for k, v in self.qualifications.items()}),
        )
        set_field(self, "_index", _Index(self))

    @property
    def tz(self) -> ZoneInfo:
        return self._index.tz

    def qualified_instructors(self, appointment_type_id: int) -> frozenset[int]:
        return self.qualifications.get(appointment_type_id, frozenset())

    def hours_on(self, instructor_id: int, day_local: date) -> tuple[tuple[time, time], ...]:
        """The instructor's working hours on a local date (that day's override, else the
        weekly hours in effect), as wall-clock times: what a calendar page shades."""
        return tuple(
            (time_of_day(w.start_wall), time_of_day(min(w.end_wall, 86399)))
            for w in self._index.day_windows(instructor_id, day_local)
        )


class _Index:
    """Lookup structures built once per SchoolCalendar. Internal to the scheduling package."""

    def __init__(self, school: SchoolCalendar) -> None:
        self.tz = school_zone(school.time_zone)
        self.weekly = _weekly_by_instructor(school.windows)
        self.overrides = _overrides_by_day(school.overrides)
        self.closures = Ranges(
            (to_timestamp(t.start), to_timestamp_up(t.end)) for t in school.time_off if t.is_closure
        )
        own: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for t in school.time_off:
            if t.instructor_id is not None:
                own[t.instructor_id].append((to_timestamp(t.start), to_timestamp_up(t.end)))
        self.away = {i: Ranges(r) for i, r in own.items()}
        # Grouped now, converted and sorted on first use: a query touches only the
        # instructors qualified for its type.
        self._raw_bookings: dict[int, list[BusyBooking]] = defaultdict(list)
        for b in school.bookings:
            self._raw_bookings[b.instructor_id].append(b)
        self._busy: dict[int, InstructorBookings] = {}
        # Set once a resolved day has windows that overlap in time (they may offer the same
        # start twice): the slot finder then removes repeated instructors.
        self.has_overlapping_hours = False
        self._day_cache: dict[tuple[int, date], tuple[DayWindow, ...]] = {}
        self._same_hours: dict[tuple[tuple[WallWindow, ...], date], tuple[DayWindow, ...]] = {}
        self._weekly_cache: dict[tuple[int, ...], tuple[WallWindow, ...]] = {}
        # (instructor, weekday) -> joined hours, where no window has effective dates.
        self._every_week: dict[tuple[int, int], tuple[WallWindow, ...]] = {}

    def instructor_away(self, instructor_id: int) -> Ranges:
        return self.away.get(instructor_id, _NO_RANGES)

    def bookings_of(self, instructor_id: int) -> InstructorBookings:
        found = self._busy.get(instructor_id)
        if found is None:
            raw = self._raw_bookings.get(instructor_id)
            found = InstructorBookings(raw) if raw else _NO_BOOKINGS
            self._busy[instructor_id] = found
        return found

    def day_windows(self, instructor_id: int, day_local: date) -> tuple[DayWindow, ...]:
        """The instructor's hours on a local date: the override if there is one, else the
        weekly windows in effect that day; touching windows with equal settings are joined
        so a lesson may run across the seam."""
        key = (instructor_id, day_local)
        cached = self._day_cache.get(key)
        if cached is None:
            cached = self._resolve_day(instructor_id, day_local)
            self._day_cache[key] = cached
        return cached

    def _resolve_day(self, instructor_id: int, day_local: date) -> tuple[DayWindow, ...]:
        walls = self._wall_windows(instructor_id, day_local)
        if not walls:
            return ()
        # A DayWindow names no instructor: those with the same hours share that day's.
        key = (walls, day_local)
        shared = self._same_hours.get(key)
        if shared is None:
            shared = self._same_hours[key] = self._in_utc(walls, day_local)
            if _any_overlap(shared):
                self.has_overlapping_hours = True
        return shared

    def _in_utc(self, walls: tuple[WallWindow, ...], day_local: date) -> tuple[DayWindow, ...]:
        offset = steady_offset_seconds(day_local, self.tz)
        if offset is None:
            return tuple(self._change_day_window(day_local, *w) for w in walls)
        base = local_midnight_seconds(day_local) - offset
        return tuple(
            DayWindow(day_local, base + start, base + end, start, end, place, modes, True)
            for start, end, place, modes in walls
        )

    def _wall_windows(self, instructor_id: int, day_local: date) -> tuple[WallWindow, ...]:
        override = self.overrides.get((instructor_id, day_local))
        if override is not None:
            return _join_touching(override)
        weekly = self.weekly.get(instructor_id)
        if not weekly:
            return ()
        weekday = day_local.weekday()
        joined = self._every_week.get((instructor_id, weekday))
        if joined is not None:
            return joined
        windows = weekly[weekday]
        in_effect = tuple(w for w in windows if w.applies_on(day_local))
        # The same weekly pattern repeats every week: join it once, keyed by identity.
        key = tuple(map(id, in_effect))
        joined = self._weekly_cache.get(key)
        if joined is None:
            joined = self._weekly_cache[key] = _join_touching(in_effect)
        if all(w.effective_from is None and w.effective_until is None for w in windows):
            self._every_week[(instructor_id, weekday)] = joined  # no dates to check next time
        return joined

    def _change_day_window(
        self,
        day_local: date,
        start_wall: int,
        end_wall: int,
        location_id: int | None,
        modes: frozenset[LocationMode],
    ) -> DayWindow:
        """On a DST-change day each bound is converted on its own (first occurrence rule)."""
        start_ts = to_timestamp(local_to_utc(day_local, time_of_day(start_wall), self.tz))
        end_ts = to_timestamp(local_to_utc(day_local, time_of_day(end_wall), self.tz))
        return DayWindow(
            day_local, start_ts, end_ts, start_wall, end_wall, location_id, modes, False
        )


def _any_overlap(windows: tuple[DayWindow, ...]) -> bool:
    return any(
        a.start_ts < b.end_ts and b.start_ts < a.end_ts
        for n, a in enumerate(windows)
        for b in windows[n + 1 :]
    )


def _weekly_by_instructor(
    windows: Iterable[WorkingWindow],
) -> dict[int, tuple[tuple[WorkingWindow, ...], ...]]:
    by_day: dict[int, list[list[WorkingWindow]]] = defaultdict(lambda: [[] for _ in range(7)])
    for w in windows:
        if not 0 <= w.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {w.weekday}")
        by_day[w.instructor_id][w.weekday].append(w)
    return {i: tuple(tuple(d) for d in days) for i, days in by_day.items()}


def _overrides_by_day(overrides: Iterable[DateOverride]) -> dict[tuple[int, date], tuple]:
    # Several overrides for the same instructor and date add up (an empty one adds nothing).
    by_day: dict[tuple[int, date], list] = defaultdict(list)
    for o in overrides:
        by_day[(o.instructor_id, o.date_local)].extend(o.windows)
    return {k: tuple(v) for k, v in by_day.items()}


def _join_touching(windows: Iterable[WorkingWindow | OverrideWindow]) -> tuple[WallWindow, ...]:
    """Windows as seconds of the day, sorted; overlapping or touching ones with the same place
    and modes become one, so a lesson may run across the seam."""
    joined: list[list] = []
    spans = sorted(
        (seconds_of_day(w.start_local), seconds_of_day(w.end_local), w.location_id, w.modes)
        for w in windows
        if w.start_local < w.end_local
    )
    for start, end, place, modes in spans:
        for w in joined:
            if w[2] == place and w[3] == modes and start <= w[1] and w[0] <= end:
                w[1] = max(w[1], end)
                break
        else:
            joined.append([start, end, place, modes])
    return tuple(sorted((tuple(w) for w in joined), key=lambda w: (w[0], w[1])))
