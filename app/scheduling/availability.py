"""Which start times can be booked, and why a particular one cannot.

How a slot is found, per qualified instructor, per local day, per window of hours:
1. the lesson must fit in the window: start in [window start, window end - duration];
2. notice and advance limits cut that range further;
3. every time-off range, closure and booking *forbids* an interval of start times
   (a booking forbids the starts whose buffered range would overlap its buffered range);
4. what is left is a few intervals; the slot grid (every ``slot_step_minutes`` from the
   window's start, on the wall clock) is laid over them.
That is a handful of interval operations per window instead of testing every candidate start
against every booking. Everything runs on integer UTC seconds; datetimes are made only for
the slots returned.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from functools import partial
from itertools import chain, compress, repeat
from operator import add, sub

from .local_time import (
    exists_locally,
    from_timestamp,
    local_date_of,
    local_midnight_seconds,
    time_of_day,
    to_timestamp,
)
from .model import (
    AppointmentTypeSpec,
    LocationMode,
    Refusal,
    Slot,
    SlotQuery,
    _require_aware,
)
from .school import Busy, DayWindow, Ranges, SchoolCalendar, _Index

MAX_QUERY_DAYS = 366
_FOREVER = 2**62  # "no max advance": later than any timestamp

Variant = tuple[LocationMode, int | None]  # (mode, location id when in person)
Starts = range | list[int]  # start times (UTC seconds): a run of the grid, or listed one by one
Offers = dict[int, int]  # instructor id -> seats left; filled in ascending id order


def available_slots(query: SlotQuery, school: SchoolCalendar, now: datetime) -> list[Slot]:
    """Bookable start times for one appointment type, sorted by start (then mode, location).

    One Slot per (start, mode, location); its instructor_ids are everyone who can take it.
    """
    _require_aware(now, "now")
    if (query.date_to_local - query.date_from_local).days > MAX_QUERY_DAYS:
        raise ValueError(f"ask for at most {MAX_QUERY_DAYS} days of slots at a time")
    earliest, latest = _horizon(query.appointment_type, now)
    days = _days(query.date_from_local, query.date_to_local, earliest, latest, school._index)
    instructors = _instructors(query, school)
    search = _Search(query, school._index, earliest, latest, days, instructors)
    for instructor_id in instructors:
        search.collect_instructor(instructor_id, days)
    return search.slots()


def check_booking(
    appointment_type: AppointmentTypeSpec,
    school: SchoolCalendar,
    *,
    start: datetime,
    instructor_id: int,
    location_mode: LocationMode,
    location_id: int | None = None,
    now: datetime,
    exclude_booking_ids: Iterable[int] = (),
) -> Refusal | None:
    """None if this exact booking may be made, else the first rule it breaks.

    The answer is None exactly when available_slots would offer this start with this
    instructor, mode and location, so the booking page, the API and recurring series agree.
    A location is ignored for online / at-home lessons.
    """
    _require_aware(start, "start")
    _require_aware(now, "now")
    spec = appointment_type
    mode = LocationMode(location_mode)
    if mode is not LocationMode.IN_PERSON:
        location_id = None
    refusal = _type_refusal(spec, mode, location_id)
    if refusal is None and instructor_id not in school.qualified_instructors(spec.id):
        refusal = Refusal.NOT_QUALIFIED
    if refusal is None:
        refusal = _horizon_refusal(spec, to_timestamp(start), now)
    if refusal is not None:
        return refusal
    day_local = local_date_of(start, school.tz)
    query = SlotQuery(
        spec,
        day_local,
        day_local + timedelta(days=1),
        instructor_id=instructor_id,
        location_mode=mode,
        location_id=location_id,
        exclude_booking_ids=frozenset(exclude_booking_ids),
    )
    for slot in available_slots(query, school, now):
        if slot.start == start and instructor_id in slot.instructor_ids:
            return None
    return _diagnose(query, school._index, to_timestamp(start), (mode, location_id))


def is_bookable(
    appointment_type: AppointmentTypeSpec,
    school: SchoolCalendar,
    *,
    start: datetime,
    instructor_id: int,
    location_mode: LocationMode,
    location_id: int | None = None,
    now: datetime,
    exclude_booking_ids: Iterable[int] = (),
) -> bool:
    """check_booking as a yes/no answer."""
    refusal = check_booking(
        appointment_type,
        school,
        start=start,
        instructor_id=instructor_id,
        location_mode=location_mode,
        location_id=location_id,
        now=now,
        exclude_booking_ids=exclude_booking_ids,
    )
    return refusal is None


# --- limits -------------------------------------------------------------------------------


def _horizon(spec: AppointmentTypeSpec, now: datetime) -> tuple[int, int]:
    """Earliest and latest bookable start (UTC seconds, both inclusive)."""
    now_ts = to_timestamp(now)
    earliest = now_ts + int(spec.min_notice_hours * 3600)
    if spec.max_advance_days is None:
        return earliest, _FOREVER
    return earliest, now_ts + spec.max_advance_days * 86400


def _horizon_refusal(spec: AppointmentTypeSpec, start_ts: int, now: datetime) -> Refusal | None:
    earliest, latest = _horizon(spec, now)
    if start_ts < earliest:
        return Refusal.TOO_SHORT_NOTICE
    if start_ts > latest:
        return Refusal.TOO_FAR_AHEAD
    return None


def _type_refusal(
    spec: AppointmentTypeSpec, mode: LocationMode, location_id: int | None
) -> Refusal | None:
    if mode not in spec.location_modes:
        return Refusal.MODE_NOT_OFFERED
    if mode is LocationMode.IN_PERSON:
        if location_id is None:
            return Refusal.LOCATION_REQUIRED
        if location_id not in spec.location_ids:
            return Refusal.LOCATION_NOT_OFFERED
    return None


def _days(first: date, stop: date, earliest: int, latest: int, index: _Index) -> list[date]:
    """Local dates of the query, trimmed to the ones the notice/advance limits can reach."""
    first = max(first, local_date_of(from_timestamp(earliest), index.tz))
    if latest != _FOREVER:
        stop = min(stop, local_date_of(from_timestamp(latest), index.tz) + timedelta(days=1))
    return [first + timedelta(days=n) for n in range((stop - first).days)]


def _instructors(query: SlotQuery, school: SchoolCalendar) -> list[int]:
    qualified = school.qualified_instructors(query.appointment_type.id)
    if query.instructor_id is not None:
        return [query.instructor_id] if query.instructor_id in qualified else []
    return sorted(qualified)


def _variants(query: SlotQuery, window: DayWindow) -> list[Variant]:
    """The query's (mode, location) choices that this window of hours allows."""
    return [
        (mode, place)
        for mode, place in _query_variants(query)
        if mode in window.modes and (place is None or window.location_id in (None, place))
    ]


def _query_variants(query: SlotQuery) -> list[Variant]:
    """Every (mode, location) the query could return, in output order."""
    spec, wanted = query.appointment_type, query.wanted_mode
    variants: list[Variant] = []
    for mode in LocationMode:
        if mode not in spec.location_modes or wanted not in (None, mode):
            continue
        if mode is not LocationMode.IN_PERSON:
            variants.append((mode, None))
            continue
        places = spec.location_ids
        if query.location_id is not None:
            places = places & {query.location_id}
        variants.extend((mode, place) for place in sorted(places))
    return variants


# --- one search ---------------------------------------------------------------------------


class _Search:
    """State of one available_slots call: the query, its limits and what was found so far.

    Grid offers are keyed by one int, start * width + a bit mask of the variants offered
    (bit n = variant n in output order, ``width`` = 2 ** variants): a window offers all its
    variants at each of its starts, so one key per start and window setting, cheap to build
    and sorted in C at the end. Each key holds the list of instructors offered, all with the
    type's capacity in seats: instructors are searched in ascending id order, so appending
    keeps each list sorted, and a repeat (from overlapping windows of hours) can only follow
    itself. Open group sessions, whose seats differ, are kept apart until the end.
    """

    def __init__(
        self,
        query: SlotQuery,
        index: _Index,
        earliest: int,
        latest: int,
        days: list[date],
        instructors: list[int],
    ) -> None:
        self.query = query
        self.spec = query.appointment_type
        self.index = index
        self.earliest = earliest
        self.latest = latest
        self.span = _span_of_starts(days, earliest, latest)
        self.duration = self.spec.duration_minutes * 60
        self.step = self.spec.slot_step_minutes * 60
        self.before = self.spec.buffer_before_minutes * 60
        self.after = self.spec.buffer_after_minutes * 60
        self.excluded = query.exclude_booking_ids
        self.instructors = instructors
        self.is_group = self.spec.is_group
        self.variant_list = _query_variants(query)
        self.variant_number = {v: n for n, v in enumerate(self.variant_list)}
        self.width = 1 << len(self.variant_list)
        self.found: defaultdict[int, list[int]] = defaultdict(list)  # offer key -> instructors
        self.sessions: dict[tuple[int, int, int], Offers] = {}  # (start, variant, end) keys
        self._window_variants: dict[tuple, list[int]] = {}
        self._window_masks: dict[tuple, int] = {}
        self._numbers_of_mask: dict[int, list[int]] = {}
        self._blocked: dict[int, Ranges] = {}

    def variants(self, window: DayWindow) -> list[int]:
        """Numbers of the (mode, location) choices this window offers for the query."""
        # Few distinct (location, modes) settings exist; work each out once per search.
        key = (window.location_id, window.modes)
        cached = self._window_variants.get(key)
        if cached is None:
            numbers = self.variant_number
            cached = [numbers[v] for v in _variants(self.query, window)]
            self._window_variants[key] = cached
        return cached

    def mask(self, window: DayWindow) -> int:
        """The bit mask of the variants this window offers (0: nothing the query wants)."""
        key = (window.location_id, window.modes)
        mask = self._window_masks.get(key)
        if mask is None:
            mask = self._window_masks[key] = sum(1 << n for n in self.variants(window))
        return mask

    def collect_instructor(self, instructor_id: int, days: list[date]) -> None:
        """Offer every free grid start of one instructor's hours on these days."""
        runs_by_mask: defaultdict[int, list[Iterable[int]]] = defaultdict(list)
        width = self.width
        for day_local in days:
            for window in self.index.day_windows(instructor_id, day_local):
                mask = self.mask(window)
                if not mask:
                    continue
                runs_by_mask[mask] += (
                    _keys(starts, mask, width) for starts in self.free_starts(instructor_id, window)
                )
                if self.is_group:
                    self.collect_open_sessions(instructor_id, window)
        offers_at = self.found.__getitem__
        for runs in runs_by_mask.values():
            # One offer per grid start and setting: the loop runs in C (tens of thousands
            # per search).
            keys = chain.from_iterable(runs)
            deque(map(list.append, map(offers_at, keys), repeat(instructor_id)), 0)

    def free_starts(self, instructor_id: int, window: DayWindow) -> list[Starts]:
        """The window's free grid starts, as a few runs."""
        lo = max(window.start_ts, self.earliest)
        hi = min(window.end_ts - self.duration, self.latest)
        if lo > hi:
            return []
        blocked = self.blocked(instructor_id)
        if window.steady:
            return _free_grid(window.start_ts, self.step, lo, hi, blocked)
        allowed = _unblocked(lo, hi, blocked)
        return [[s for s in _wall_grid(self.index, window, self.step) if _inside(s, allowed)]]

    def blocked(self, instructor_id: int) -> Ranges:
        """Start times the instructor cannot take anywhere in the search, worked out once."""
        found = self._blocked.get(instructor_id)
        if found is None:
            found = self._blocked[instructor_id] = Ranges(self.blocked_starts(instructor_id))
        return found

    def blocked_starts(self, instructor_id: int) -> list[tuple[int, int]]:
        """[from, to) ranges of start times that time off, closures or bookings rule out."""
        duration, before, after = self.duration, self.before, self.after
        lo, hi = self.span
        blocked = []
        # The lesson itself must not touch time off or a closure; its buffers may.
        for ranges in (self.index.closures, self.index.instructor_away(instructor_id)):
            for off_start, off_end in ranges.overlapping(lo, hi + duration):
                blocked.append((off_start - duration + 1, off_end))
        # Buffered ranges must not overlap: start - before < occ_end, occ_start < end + after.
        bookings = self.index.bookings_of(instructor_id)
        at = bookings.span(lo - before, hi + duration + after)
        occupied_starts, occupied_ends = bookings.occupied_starts[at], bookings.occupied_ends[at]
        if self.excluded:  # rescheduling: the booking being moved is no obstacle
            kept = [b.id is None or b.id not in self.excluded for b in bookings.bookings[at]]
            occupied_starts = list(compress(occupied_starts, kept))
            occupied_ends = list(compress(occupied_ends, kept))
        reach = duration + after - 1  # a start this much before a booking already overlaps it
        blocked += zip(
            map(sub, occupied_starts, repeat(reach)),
            map(add, occupied_ends, repeat(before)),
            strict=True,
        )
        return blocked

    def collect_open_sessions(self, instructor_id: int, window: DayWindow) -> None:
        """Offer existing sessions of this type that still have seats, even off the grid."""
        offered = self.variants(window)
        for key, rows in _sessions_in(self.index, self.query, instructor_id, window).items():
            _, start, end, mode, location_id = key
            number = self.variant_number.get((LocationMode(mode), location_id))
            if number not in offered or not self.earliest <= start <= self.latest:
                continue
            seats = _seats_left(rows)
            if seats <= 0 or not window.start_ts <= start < end <= window.end_ts:
                continue
            if _away_refusal(self.index, instructor_id, start, end) is not None:
                continue
            if _session_clashes(self.index, self.query, instructor_id, rows):
                continue
            self.sessions.setdefault((start, number, end), {})[instructor_id] = seats

    def slots(self) -> list[Slot]:
        if self.sessions:
            return self.slots_with_sessions()
        return self.grid_slots()

    def grid_slots(self) -> list[Slot]:
        """The usual case: only grid offers, every instructor with the type's capacity."""
        duration, variants, seats = self.duration, self.variant_list, self.spec.capacity
        pair_of = {i: (i, seats) for i in self.instructors}.__getitem__
        moments = _Moments()
        slots = []
        start_at = end_at = None
        last_start = None
        instructor_ids = by_instructor = None
        for start, number, offered in self.grid_offers():
            if start != last_start:  # offers of one start are adjacent: one lookup for them all
                last_start, start_at, end_at = start, moments[start], moments[start + duration]
            if offered is not instructor_ids:  # the variants of one window share their tuples
                instructor_ids, by_instructor = offered, tuple(map(pair_of, offered))
            mode, location_id = variants[number]
            slots.append(
                _new_slot(
                    (start_at, end_at, mode, location_id, instructor_ids, seats, by_instructor)
                )
            )
        return slots

    def grid_offers(self) -> list[tuple[int, int, tuple[int, ...]]]:
        """(start, variant number, instructor ids) of every grid offer, in output order."""
        found, width, numbers_of = self.found, self.width, self.numbers_of
        repeats = self.index.has_overlapping_hours
        keys = sorted(found)
        starts = [key // width for key in keys]
        offers = []
        n, count = 0, len(keys)
        while n < count:
            start = starts[n]
            last = bisect_right(starts, start, n)  # the keys of this start: n .. last - 1
            if last == n + 1:  # one window setting offers this start: one list for its variants
                offered = found[keys[n]]
                ids = tuple(dict.fromkeys(offered) if repeats else offered)
                offers += [(start, number, ids) for number in numbers_of(keys[n] % width)]
            else:
                offers += _merged_offers(start, [(k % width, found[k]) for k in keys[n:last]], self)
            n = last
        return offers

    def numbers_of(self, mask: int) -> list[int]:
        """The variant numbers of a mask, ascending."""
        numbers = self._numbers_of_mask.get(mask)
        if numbers is None:
            numbers = self._numbers_of_mask[mask] = list(_set_bits(mask))
        return numbers

    def slots_with_sessions(self) -> list[Slot]:
        """Grid offers and open group sessions in output order; a session at a grid slot
        (same start and length) joins it."""
        duration, seats = self.duration, self.spec.capacity
        merged: dict[tuple[int, int, int], Offers] = {}
        for start, number, instructor_ids in self.grid_offers():
            merged[(start, number, start + duration)] = dict.fromkeys(instructor_ids, seats)
        for key, session_seats in self.sessions.items():
            merged.setdefault(key, {}).update(session_seats)
        moments = _Moments()
        slots = []
        for (start, number, end), seats_left in sorted(merged.items()):
            instructor_ids = tuple(sorted(seats_left))
            mode, location_id = self.variant_list[number]
            slots.append(
                Slot(
                    moments[start],
                    moments[end],
                    mode,
                    location_id,
                    instructor_ids,
                    max(seats_left.values()),
                    tuple((i, seats_left[i]) for i in instructor_ids),
                )
            )
        return slots


# --- grid helpers ----------------------------------------------------------------------


def _span_of_starts(days: list[date], earliest: int, latest: int) -> tuple[int, int]:
    """UTC seconds that hold every start the search can offer: the query's local days, with
    a day's margin for the zone's offset, cut by the notice and advance limits."""
    if not days:
        return earliest, earliest
    first = local_midnight_seconds(days[0]) - 86400
    stop = local_midnight_seconds(days[-1]) + 2 * 86400
    return max(first, earliest), min(stop, latest)


def _unblocked(lo: int, hi: int, blocked: Ranges) -> list[tuple[int, int]]:
    """[lo, hi] minus the blocked ranges, as closed intervals."""
    allowed = []
    cursor = lo
    for a, b in blocked.overlapping(lo, hi + 1):  # merged and sorted
        if a > cursor:
            allowed.append((cursor, a - 1))
        cursor = max(cursor, b)
    if cursor <= hi:
        allowed.append((cursor, hi))
    return allowed


def _free_grid(anchor: int, step: int, lo: int, hi: int, blocked: Ranges) -> list[range]:
    """Grid points anchor + k*step in [lo, hi] (lo >= anchor) outside the blocked ranges, as
    runs: ``_unblocked`` and ``_grid`` in one pass, as this runs once per window of hours."""
    starts, ends = blocked.starts, blocked.ends
    runs = []
    cursor = lo
    for n in range(bisect_right(ends, lo), len(starts)):  # merged and sorted
        if starts[n] > hi:
            break
        if starts[n] > cursor:
            runs.append(range(anchor + -(-(cursor - anchor) // step) * step, starts[n], step))
        cursor = ends[n]  # beyond the cursor: the ranges are merged and end after lo
    if cursor <= hi:
        runs.append(range(anchor + -(-(cursor - anchor) // step) * step, hi + 1, step))
    return runs


def _keys(starts: Starts, mask: int, width: int) -> Iterable[int]:
    """The offer keys of these starts with one setting: a run of grid starts is a run of keys,
    so a steady day's keys cost nothing to list."""
    if isinstance(starts, range):
        return range(starts.start * width + mask, starts.stop * width + mask, starts.step * width)
    return [start * width + mask for start in starts]


def _merged_offers(
    start: int, lists: list[tuple[int, list[int]]], search: _Search
) -> list[tuple[int, int, tuple[int, ...]]]:
    """One start's offers per variant when windows of several settings offer it: a variant
    offered by more than one merges their instructors."""
    by_variant: dict[int, list[list[int]]] = {}
    for mask, offered in lists:
        for number in search.numbers_of(mask):
            by_variant.setdefault(number, []).append(offered)
    return [
        (start, number, tuple(sorted(set().union(*found))))
        for number, found in sorted(by_variant.items())
    ]


def _set_bits(mask: int) -> Iterator[int]:
    """Positions of the 1 bits, lowest first."""
    while mask:
        lowest = mask & -mask
        yield lowest.bit_length() - 1
        mask ^= lowest


def _wall_grid(index: _Index, window: DayWindow, step: int) -> list[int]:
    """On a DST-change day: walk the wall clock, skip times that don't exist, read repeated
    times as their first occurrence (so the repeated hour is not offered twice)."""
    starts = []
    for wall in range(window.start_wall, window.end_wall, step):
        at = time_of_day(wall)
        if exists_locally(window.day_local, at, index.tz):
            starts.append(_wall_to_ts(window.day_local, wall, index))
    return starts


def _wall_to_ts(day_local: date, wall: int, index: _Index) -> int:
    local = datetime.combine(day_local, time_of_day(wall), tzinfo=index.tz)
    return int(local.timestamp())


def _inside(value: int, intervals: list[tuple[int, int]]) -> bool:
    return any(a <= value <= b for a, b in intervals)


# --- group sessions -----------------------------------------------------------------------


def _seats_left(session: list[Busy]) -> int:
    return max(r.booking.capacity for r in session) - sum(r.booking.seats_taken for r in session)


def _sessions_in(
    index: _Index, query: SlotQuery, instructor_id: int, window: DayWindow
) -> dict[tuple, list[Busy]]:
    sessions: dict[tuple, list[Busy]] = {}
    excluded = query.exclude_booking_ids
    for row in index.bookings_of(instructor_id).near(window.start_ts, window.end_ts + 1):
        b = row.booking
        if b.appointment_type_id != query.appointment_type.id or b.location_mode is None:
            continue
        if b.id is not None and b.id in excluded:
            continue
        if window.start_ts <= row.start <= window.end_ts:
            sessions.setdefault(row.session_key, []).append(row)
    return sessions


def _session_clashes(
    index: _Index, query: SlotQuery, instructor_id: int, session: list[Busy]
) -> bool:
    """Does anything other than the session itself overlap its buffered range?"""
    key = session[0].session_key
    occupied_start = min(r.occupied_start for r in session)
    occupied_end = max(r.occupied_end for r in session)
    return _clashes(index, query, instructor_id, occupied_start, occupied_end, skip_key=key)


def _clashes(
    index: _Index,
    query: SlotQuery,
    instructor_id: int,
    occupied_start: int,
    occupied_end: int,
    skip_key: tuple | None = None,
) -> bool:
    excluded = query.exclude_booking_ids
    for row in index.bookings_of(instructor_id).near(occupied_start, occupied_end):
        if row.booking.id is not None and row.booking.id in excluded:
            continue
        if skip_key is not None and row.session_key == skip_key:
            continue
        if row.occupied_start < occupied_end and occupied_start < row.occupied_end:
            return True
    return False


def _away_refusal(index: _Index, instructor_id: int, start: int, end: int) -> Refusal | None:
    if index.closures.overlaps(start, end):
        return Refusal.SCHOOL_CLOSED
    if index.instructor_away(instructor_id).overlaps(start, end):
        return Refusal.INSTRUCTOR_AWAY
    return None


# --- results ------------------------------------------------------------------------------


_new_slot = partial(tuple.__new__, Slot)  # Slot(...) without its Python-level __new__


class _Moments(dict[int, datetime]):
    """UTC datetimes by timestamp, made on first use: one object per distinct instant."""

    def __missing__(self, timestamp: int) -> datetime:
        moment = self[timestamp] = from_timestamp(timestamp)
        return moment


# --- why not? -----------------------------------------------------------------------------


def _diagnose(query: SlotQuery, index: _Index, start: int, variant: Variant) -> Refusal:
    """The first rule a start breaks; called only after available_slots did not offer it."""
    spec = query.appointment_type
    instructor_id = query.instructor_id
    assert instructor_id is not None
    end = start + spec.duration_minutes * 60
    covering = [
        w
        for w in index.day_windows(instructor_id, query.date_from_local)
        if w.start_ts <= start and end <= w.end_ts
    ]
    if not covering:
        return Refusal.OUTSIDE_HOURS
    if not any(variant in _variants(query, w) for w in covering):
        return Refusal.NOT_OFFERED_THEN
    away = _away_refusal(index, instructor_id, start, end)
    if away is not None:
        return away
    session = _session_at(index, query, instructor_id, start, variant)
    if session:
        if _seats_left(session) <= 0:
            return Refusal.CLASS_FULL
        if _session_clashes(index, query, instructor_id, session):
            return Refusal.TIME_TAKEN
        return Refusal.NOT_A_START_TIME
    before, after = spec.buffer_before_minutes * 60, spec.buffer_after_minutes * 60
    if _clashes(index, query, instructor_id, start - before, end + after):
        return Refusal.TIME_TAKEN
    return Refusal.NOT_A_START_TIME


def _session_at(
    index: _Index, query: SlotQuery, instructor_id: int, start: int, variant: Variant
) -> list[Busy]:
    if not query.appointment_type.is_group:
        return []
    excluded = query.exclude_booking_ids
    rows = []
    for row in index.bookings_of(instructor_id).near(start, start + 1):
        b = row.booking
        if b.id is not None and b.id in excluded:
            continue
        if (
            row.start == start
            and b.appointment_type_id == query.appointment_type.id
            and (b.location_mode, b.location_id) == variant
        ):
            rows.append(row)
    keys = {r.session_key for r in rows}
    if len(keys) > 1:  # same start, different lengths: judge by the first
        first = min(keys)
        rows = [r for r in rows if r.session_key == first]
    return rows


__all__ = ["MAX_QUERY_DAYS", "available_slots", "check_booking", "is_bookable"]
