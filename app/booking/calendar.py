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
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import Range

from app.extensions import db
from app.models import (
    AppointmentType,
    Booking,
    BookingStatus,
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


def appointment_type_spec(appointment_type: AppointmentType,
                          location_ids: Iterable[int] | None = None) -> AppointmentTypeSpec:
    """The core's view of an appointment type (``location_ids`` saves a query when known)."""
    if location_ids is None:
        location_ids = db.session.scalars(
            sa.select(appointment_type_locations.c.location_id).where(
                appointment_type_locations.c.organization_id == appointment_type.organization_id,
                appointment_type_locations.c.appointment_type_id == appointment_type.id,
            )
        ).all()
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
    one instructor and one type); ``None`` means all of the school's.
    """
    zone = ZoneInfo(time_zone)
    instructors = sorted(set(instructor_ids)) if instructor_ids is not None else None
    types = sorted(set(appointment_type_ids)) if appointment_type_ids is not None else None
    utc_from = local_midnight(date_from_local, zone) - _MARGIN
    utc_to = local_midnight(date_to_local, zone) + _MARGIN

    def only_instructors(column):
        return sa.true() if instructors is None else column.in_(instructors)

    qualifications = _qualifications(organization_id, only_instructors, types)
    return SchoolCalendar(
        time_zone=time_zone,
        windows=_weekly_windows(organization_id, only_instructors, date_from_local, date_to_local),
        overrides=_overrides(organization_id, only_instructors, date_from_local, date_to_local),
        time_off=_time_off(organization_id, only_instructors, zone, date_from_local,
                           date_to_local),
        bookings=_busy(organization_id, only_instructors, utc_from, utc_to),
        qualifications=qualifications,
    )


def _weekly_windows(org_id: int, only_instructors, first: date, stop: date) -> list[WorkingWindow]:
    w = WorkingHours
    rows = db.session.execute(
        sa.select(w.instructor_id, w.weekday, w.start_time, w.end_time, w.location_id,
                  w.location_modes, w.effective_from, w.effective_until)
        .where(w.organization_id == org_id, only_instructors(w.instructor_id),
               sa.or_(w.effective_from.is_(None), w.effective_from < stop),
               sa.or_(w.effective_until.is_(None), w.effective_until >= first))
    )
    return [
        WorkingWindow(instructor_id, weekday, start, end, location_id, frozenset(modes),
                      effective_from, effective_until)
        for instructor_id, weekday, start, end, location_id, modes, effective_from, effective_until
        in rows
    ]


def _overrides(org_id: int, only_instructors, first: date, stop: date) -> list[DateOverride]:
    o = HoursOverride
    rows = db.session.execute(
        sa.select(o.instructor_id, o.day, o.start_time, o.end_time, o.location_id, o.location_modes)
        .where(o.organization_id == org_id, only_instructors(o.instructor_id),
               o.day >= first, o.day < stop)
    )
    by_day: dict[tuple[int, date], list[OverrideWindow]] = defaultdict(list)
    for instructor_id, day, start, end, location_id, modes in rows:
        window = OverrideWindow(start, end, location_id, frozenset(modes))
        by_day[(instructor_id, day)].append(window)
    return [DateOverride(i, day, tuple(windows)) for (i, day), windows in by_day.items()]


def _time_off(org_id: int, only_instructors, zone: ZoneInfo, first: date,
              stop: date) -> list[CoreTimeOff]:
    t, c = TimeOff, SchoolClosure
    last = stop - timedelta(days=1)
    # The two small tables in one round trip; a closure has no instructor.
    rows = db.session.execute(
        sa.union_all(
            sa.select(t.instructor_id, t.first_day, t.last_day).where(
                t.organization_id == org_id, only_instructors(t.instructor_id),
                t.last_day >= first - _MARGIN, t.first_day <= last + _MARGIN),
            sa.select(sa.null().label("instructor_id"), c.first_day, c.last_day).where(
                c.organization_id == org_id,
                c.last_day >= first - _MARGIN, c.first_day <= last + _MARGIN),
        )
    )
    return [
        CoreTimeOff(instructor_id, local_midnight(first_day, zone),
                    local_midnight(last_day + timedelta(days=1), zone))
        for instructor_id, first_day, last_day in rows
    ]


def _busy(org_id: int, only_instructors, utc_from: datetime, utc_to: datetime) -> list[BusyBooking]:
    b = Booking
    rows = db.session.execute(
        sa.select(b.instructor_id, b.appointment_type_id, b.starts_at, b.ends_at,
                  b.buffer_before_minutes, b.buffer_after_minutes, b.seats_taken, b.capacity,
                  b.location_mode, b.location_id, b.id)
        .where(b.organization_id == org_id, only_instructors(b.instructor_id),
               b.status == BookingStatus.CONFIRMED.value,
               b.occupied.overlaps(Range(utc_from, utc_to, bounds="[)")))
    )
    return [BusyBooking._make(row) for row in rows]


def _qualifications(org_id: int, only_instructors,
                    types: list[int] | None) -> dict[int, frozenset[int]]:
    q, m = InstructorQualification, Membership
    rows = db.session.execute(
        sa.select(q.appointment_type_id, q.instructor_id)
        .join(m, sa.and_(m.id == q.instructor_id, m.organization_id == q.organization_id))
        .where(q.organization_id == org_id, only_instructors(q.instructor_id),
               sa.true() if types is None else q.appointment_type_id.in_(types),
               m.active.is_(True), m.role == MembershipRole.INSTRUCTOR)
    )
    by_type: dict[int, set[int]] = defaultdict(set)
    for type_id, instructor_id in rows:
        by_type[type_id].add(instructor_id)
    return {type_id: frozenset(ids) for type_id, ids in by_type.items()}
