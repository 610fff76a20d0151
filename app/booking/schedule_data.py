"""Database rows → the scheduling core's input: one query per table for a date range.

The core (``app.scheduling``) knows nothing of SQLAlchemy; this module is the only place that
turns working hours, overrides, time off, closures, bookings and qualifications into its
frozen values. Everything goes through ``db.session``, so Row-Level Security applies, and
every query also names the school explicitly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import Range

from app.extensions import db
from app.models import (
    AppointmentType,
    Booking,
    BookingStatus,
    BusyTime,
    HoursOverride,
    InstructorQualification,
    Membership,
    MembershipRole,
    SchoolClosure,
    TimeOff,
    WorkingHours,
    appointment_type_locations,
)
from app.scheduling import (
    AppointmentTypeSpec,
    BusyBooking,
    DateOverride,
    OverrideWindow,
    SchoolCalendar,
    WorkingWindow,
)
from app.scheduling import (
    TimeOff as CoreTimeOff,
)

# Bookings and time off are fetched a day beyond the asked dates: buffers and time zones
# can reach across midnight.
_MARGIN = timedelta(days=1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment a local date begins."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def appointment_type_spec(
    appointment_type: AppointmentType, location_ids: Iterable[int] | None = None
) -> AppointmentTypeSpec:
    """The core's view of an appointment type (``location_ids`` saves a query when known)."""
    if location_ids is None:
        location_ids = (
            _rows(
                sa.select(appointment_type_locations.c.location_id).where(
                    appointment_type_locations.c.organization_id
                    == appointment_type.organization_id,
                    appointment_type_locations.c.appointment_type_id == appointment_type.id,
                )
            )
            .scalars()
            .all()
        )
    return AppointmentTypeSpec(
        id=appointment_type.id,
        duration_minutes=appointment_type.duration_minutes,
        buffer_before_minutes=appointment_type.buffer_before_minutes,
        buffer_after_minutes=appointment_type.buffer_after_minutes,
        capacity=appointment_type.capacity,
        min_notice_hours=appointment_type.min_notice_hours,
        max_advance_days=appointment_type.max_advance_days,
        slot_step_minutes=appointment_type.slot_step_minutes,
        location_modes=frozenset(appointment_type.location_modes),
        location_ids=frozenset(location_ids),
    )


class CalendarRows(NamedTuple):
    """What the database holds for a calendar, as plain rows (see ``build_calendar``)."""

    windows: list
    overrides: list
    time_off: list
    bookings: list
    # From instructors' own calendars (app.calendars.busy): the core treats them as time off.
    busy_times: list | tuple = ()


def load_calendar(
    organization_id: int,
    time_zone: str,
    date_from_local: date,
    date_to_local: date,
    *,
    instructor_ids: Iterable[int] | None = None,
    appointment_type_ids: Iterable[int] | None = None,
) -> SchoolCalendar:
    """Everything the core needs to answer for local dates [date_from_local, date_to_local).

    ``instructor_ids`` / ``appointment_type_ids`` narrow the load (a booking re-check needs
    one instructor and one type); ``None`` means all of the school's. Given the types, only
    the instructors qualified for them are loaded: nobody else can be offered.
    """
    instructors = sorted(set(instructor_ids)) if instructor_ids is not None else None
    types = sorted(set(appointment_type_ids)) if appointment_type_ids is not None else None
    qualifications = build_qualifications(
        _rows(qualifications_query(organization_id, instructors, types))
    )
    if types is not None:
        instructors = sorted(set().union(*qualifications.values()))
    if instructors == []:
        return SchoolCalendar(time_zone=time_zone, qualifications=qualifications)
    queries = calendar_queries(
        organization_id, time_zone, date_from_local, date_to_local, instructors
    )
    rows = CalendarRows(*(_rows(query).all() for query in queries))
    return build_calendar(time_zone, qualifications, rows)


def _rows(statement):
    """Plain rows on the session's connection (its transaction, its tenant setting): the
    loader selects columns, never entities, so the ORM's per-row work is not needed."""
    return db.session.connection().execute(statement)


# --- the queries: one per table (time off and closures share one) ---------------------------


def qualifications_query(org_id: int, instructors: list[int] | None, types: list[int] | None):
    q, m = InstructorQualification, Membership
    return (
        sa.select(q.appointment_type_id, q.instructor_id)
        .join(m, sa.and_(m.id == q.instructor_id, m.organization_id == q.organization_id))
        .where(
            q.organization_id == org_id,
            sa.true() if instructors is None else q.instructor_id.in_(instructors),
            sa.true() if types is None else q.appointment_type_id.in_(types),
            m.active.is_(True),
            m.role == MembershipRole.INSTRUCTOR,
        )
    )


def calendar_queries(
    org_id: int, time_zone: str, first: date, stop: date, instructors: list[int] | None
) -> CalendarRows:
    """The SELECTs whose rows ``build_calendar`` turns into a SchoolCalendar."""
    zone = ZoneInfo(time_zone)

    def only(column):
        return sa.true() if instructors is None else column.in_(instructors)

    w, o, t, c, b, busy = WorkingHours, HoursOverride, TimeOff, SchoolClosure, Booking, BusyTime
    last = stop - timedelta(days=1)
    busy_range = Range(
        local_midnight(first, zone) - _MARGIN, local_midnight(stop, zone) + _MARGIN, bounds="[)"
    )
    return CalendarRows(
        windows=sa.select(
            w.instructor_id,
            w.weekday,
            w.start_time,
            w.end_time,
            w.location_id,
            w.location_modes,
            w.effective_from,
            w.effective_until,
        ).where(
            w.organization_id == org_id,
            only(w.instructor_id),
            sa.or_(w.effective_from.is_(None), w.effective_from < stop),
            sa.or_(w.effective_until.is_(None), w.effective_until >= first),
        ),
        overrides=sa.select(
            o.instructor_id, o.day, o.start_time, o.end_time, o.location_id, o.location_modes
        ).where(o.organization_id == org_id, only(o.instructor_id), o.day >= first, o.day < stop),
        # The two small tables in one round trip; a closure has no instructor.
        time_off=sa.union_all(
            sa.select(t.instructor_id, t.first_day, t.last_day).where(
                t.organization_id == org_id,
                only(t.instructor_id),
                t.last_day >= first - _MARGIN,
                t.first_day <= last + _MARGIN,
            ),
            sa.select(sa.null().label("instructor_id"), c.first_day, c.last_day).where(
                c.organization_id == org_id,
                c.last_day >= first - _MARGIN,
                c.first_day <= last + _MARGIN,
            ),
        ),
        bookings=sa.select(
            b.instructor_id,
            b.appointment_type_id,
            b.starts_at,
            b.ends_at,
            b.buffer_before_minutes,
            b.buffer_after_minutes,
            b.seats_taken,
            b.capacity,
            b.location_mode,
            b.location_id,
            b.id,
        ).where(
            b.organization_id == org_id,
            only(b.instructor_id),
            b.status == BookingStatus.CONFIRMED.value,
            b.occupied.overlaps(busy_range),
        ),
        busy_times=sa.select(busy.instructor_id, busy.starts_at, busy.ends_at).where(
            busy.organization_id == org_id,
            only(busy.instructor_id),
            busy.ends_at > busy_range.lower,
            busy.starts_at < busy_range.upper,
        ),
    )


# --- rows -> the core's values -------------------------------------------------------------

# BusyBooking._make without its Python-level frame: the rows already have its fields in order.
_new_busy_booking = partial(tuple.__new__, BusyBooking)


def build_qualifications(rows) -> dict[int, frozenset[int]]:
    by_type: dict[int, set[int]] = defaultdict(set)
    for type_id, instructor_id in rows:
        by_type[type_id].add(instructor_id)
    return {type_id: frozenset(ids) for type_id, ids in by_type.items()}


def build_calendar(
    time_zone: str, qualifications: dict[int, frozenset[int]], rows: CalendarRows
) -> SchoolCalendar:
    zone = ZoneInfo(time_zone)
    windows = [
        WorkingWindow(
            instructor_id,
            weekday,
            start,
            end,
            location_id,
            frozenset(modes),
            effective_from,
            effective_until,
        )
        for (
            instructor_id,
            weekday,
            start,
            end,
            location_id,
            modes,
            effective_from,
            effective_until,
        ) in rows.windows
    ]
    by_day: dict[tuple[int, date], list[OverrideWindow]] = defaultdict(list)
    for instructor_id, day, start, end, location_id, modes in rows.overrides:
        by_day[(instructor_id, day)].append(
            OverrideWindow(start, end, location_id, frozenset(modes))
        )
    time_off = [
        CoreTimeOff(
            instructor_id,
            local_midnight(first_day, zone),
            local_midnight(last_day + timedelta(days=1), zone),
        )
        for instructor_id, first_day, last_day in rows.time_off
    ]
    time_off += [CoreTimeOff(i, starts, ends) for i, starts, ends in rows.busy_times]
    return SchoolCalendar(
        time_zone=time_zone,
        windows=windows,
        overrides=[DateOverride(i, day, tuple(w)) for (i, day), w in by_day.items()],
        time_off=time_off,
        bookings=list(map(_new_busy_booking, rows.bookings)),  # thousands: no Python loop
        qualifications=qualifications,
    )
