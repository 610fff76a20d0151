"""A slow, obvious re-statement of the slot rules, used to check the fast one.

It walks every wall-clock grid time of every window and tests every rule against every
time-off range and booking with plain datetime arithmetic. Windows of one instructor and
day are assumed not to touch (the strategies make sure), so no joining is needed here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.scheduling import BusyBooking, LocationMode, SchoolCalendar, SlotQuery

Offer = tuple[datetime, datetime, LocationMode, int | None, int, int]  # … instructor, seats


def expected_offers(query: SlotQuery, school: SchoolCalendar, now: datetime) -> set[Offer]:
    tz = ZoneInfo(school.time_zone)
    spec = query.appointment_type
    qualified = school.qualifications.get(spec.id, frozenset())
    if query.instructor_id is not None:
        qualified = qualified & {query.instructor_id}
    offers: set[Offer] = set()
    day = query.date_from_local
    while day < query.date_to_local:
        for instructor in qualified:
            for window in windows_on(school, instructor, day):
                offers |= window_offers(query, school, now, tz, instructor, day, window)
        day += timedelta(days=1)
    return offers


def windows_on(school: SchoolCalendar, instructor: int, day: date) -> list[tuple]:
    overridden = [
        o for o in school.overrides if (o.instructor_id, o.date_local) == (instructor, day)
    ]
    if overridden:
        return [tuple(w) for o in overridden for w in o.windows]
    return [
        (w.start_local, w.end_local, w.location_id, w.modes)
        for w in school.windows
        if w.instructor_id == instructor
        and w.weekday == day.weekday()
        and (w.effective_from is None or w.effective_from <= day)
        and (w.effective_until is None or day <= w.effective_until)
    ]


def variants(query: SlotQuery, location_id: int | None, modes: frozenset) -> set[tuple]:
    spec = query.appointment_type
    out = set()
    for mode in modes & spec.location_modes:
        if query.location_mode is not None and mode != query.location_mode:
            continue
        if mode != LocationMode.IN_PERSON:
            if query.location_id is None:
                out.add((mode, None))
            continue
        for place in spec.location_ids:
            if location_id in (None, place) and query.location_id in (None, place):
                out.add((mode, place))
    return out


def window_offers(query, school, now, tz, instructor, day, window) -> set[Offer]:
    spec = query.appointment_type
    start_local, end_local, location_id, modes = window
    offered = variants(query, location_id, modes)
    win_start = datetime.combine(day, start_local, tzinfo=tz).astimezone(UTC)
    win_end = datetime.combine(day, end_local, tzinfo=tz).astimezone(UTC)
    out: set[Offer] = set()
    wall = datetime.combine(day, start_local)
    while wall.date() == day and wall.time() < end_local:
        local = wall.replace(tzinfo=tz)
        start = local.astimezone(UTC)
        end = start + timedelta(minutes=spec.duration_minutes)
        exists = start.astimezone(tz).replace(tzinfo=None) == wall
        if (
            exists
            and win_start <= start
            and end <= win_end
            and can_start(query, school, now, instructor, start, end)
        ):
            out |= {(start, end, m, loc, instructor, spec.capacity) for m, loc in offered}
        wall += timedelta(minutes=spec.slot_step_minutes)
    if spec.capacity > 1:
        out |= open_sessions(query, school, now, instructor, win_start, win_end, offered)
    return out


def within_horizon(query: SlotQuery, now: datetime, start: datetime) -> bool:
    spec = query.appointment_type
    if start < now + timedelta(hours=spec.min_notice_hours):
        return False
    return spec.max_advance_days is None or start <= now + timedelta(days=spec.max_advance_days)


def away(school: SchoolCalendar, instructor: int, start: datetime, end: datetime) -> bool:
    return any(
        t.instructor_id in (None, instructor) and t.start < end and start < t.end
        for t in school.time_off
    )


def occupied(b: BusyBooking) -> tuple[datetime, datetime]:
    return (
        b.start - timedelta(minutes=b.buffer_before_minutes),
        b.end + timedelta(minutes=b.buffer_after_minutes),
    )


def can_start(query, school, now, instructor, start, end) -> bool:
    spec = query.appointment_type
    if not within_horizon(query, now, start) or away(school, instructor, start, end):
        return False
    mine = (
        start - timedelta(minutes=spec.buffer_before_minutes),
        end + timedelta(minutes=spec.buffer_after_minutes),
    )
    return not any(
        b.instructor_id == instructor and overlap(mine, occupied(b)) for b in school.bookings
    )


def overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def open_sessions(query, school, now, instructor, win_start, win_end, offered) -> set[Offer]:
    spec = query.appointment_type
    sessions = defaultdict(list)
    for b in school.bookings:
        if b.instructor_id == instructor and b.appointment_type_id == spec.id and b.location_mode:
            sessions[(b.start, b.end, b.location_mode, b.location_id)].append(b)
    out: set[Offer] = set()
    for (start, end, mode, location_id), rows in sessions.items():
        seats = max(r.capacity for r in rows) - sum(r.seats_taken for r in rows)
        if seats <= 0 or (mode, location_id) not in offered:
            continue
        if not (win_start <= start and end <= win_end) or not within_horizon(query, now, start):
            continue
        if away(school, instructor, start, end):
            continue
        span = (min(occupied(r)[0] for r in rows), max(occupied(r)[1] for r in rows))
        others = [b for b in school.bookings if b.instructor_id == instructor and b not in rows]
        if not any(overlap(span, occupied(b)) for b in others):
            out.add((start, end, mode, location_id, instructor, seats))
    return out
