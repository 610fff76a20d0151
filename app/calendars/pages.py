"""What the calendar pages show: bookings placed in day/hour cells in the school's zone.

The admins' calendar (day, week or month, filtered) and the instructor's week share this:
the views load bookings here, and the templates only draw the ``Grid``. Times are local to
the school; an entry sits in the cell of the local hour it starts in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.booking.schedule_data import load_calendar, local_midnight
from app.extensions import db
from app.models import Booking, BookingAttendee, BookingStatus, BusyTime, Membership
from app.school_time import shown_range

VIEWS = ("day", "week", "month")
FIRST_HOUR, LAST_HOUR = 7, 21  # always shown; widened when a booking falls outside


@dataclass
class Entry:
    """One booking on the calendar."""

    booking: Booking
    starts_local: datetime
    ends_local: datetime
    url: str

    @property
    def cancelled(self) -> bool:
        return not self.booking.is_confirmed

    @property
    def color(self) -> str:
        return self.booking.appointment_type.color or "#6b7280"

    @property
    def time_label(self) -> str:
        return shown_range(self.starts_local, self.ends_local)

    @property
    def seats_label(self) -> str | None:
        booking = self.booking
        if booking.capacity <= 1:
            return None
        free = booking.capacity - booking.seats_taken
        return f"{booking.seats_taken}/{booking.capacity} taken, {free} free"


@dataclass
class Day:
    day: date
    is_today: bool
    in_range: bool = True  # month view: days of the neighbouring months are greyed
    entries: list[Entry] = field(default_factory=list)
    by_hour: dict[int, list[Entry]] = field(default_factory=lambda: defaultdict(list))
    working: list[tuple[time, time]] = field(default_factory=list)
    busy: list[tuple[time, time]] = field(default_factory=list)  # from their own calendar

    def works_at(self, hour: int) -> bool:
        """Whether any of the instructor's hours that day touch this hour (shaded)."""
        start, end = time(hour), time(hour, 59, 59)
        return any(a <= end and b > start for a, b in self.working)

    def busy_at(self, hour: int) -> bool:
        """Whether the instructor's own calendar makes them busy during this hour."""
        start, end = time(hour), time(hour, 59, 59)
        return any(a <= end and b > start for a, b in self.busy)


@dataclass
class Grid:
    view: str
    first: date
    days: list[Day]
    hours: list[int]
    zone: str

    @property
    def weeks(self) -> list[list[Day]]:
        return [self.days[i : i + 7] for i in range(0, len(self.days), 7)]


def view_range(view: str, anchor: date) -> tuple[date, date, date, date]:
    """(first shown, stop shown, first in range, stop in range): a month view shows whole
    weeks around the month."""
    if view == "day":
        return anchor, anchor + timedelta(days=1), anchor, anchor + timedelta(days=1)
    if view == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return monday, monday + timedelta(days=7), monday, monday + timedelta(days=7)
    first_of_month = anchor.replace(day=1)
    next_month = (first_of_month + timedelta(days=32)).replace(day=1)
    shown_first = first_of_month - timedelta(days=first_of_month.weekday())
    shown_stop = next_month + timedelta(days=(7 - next_month.weekday()) % 7)
    return shown_first, shown_stop, first_of_month, next_month


def step(view: str, anchor: date, direction: int) -> date:
    if view == "day":
        return anchor + timedelta(days=direction)
    if view == "week":
        return anchor + timedelta(days=7 * direction)
    month = anchor.replace(day=1) + timedelta(days=32 if direction > 0 else -1)
    return month.replace(day=1)


def load_bookings(
    organization_id: int,
    zone: str,
    first: date,
    stop: date,
    *,
    instructor_id: int | None = None,
    location_id: int | None = None,
    appointment_type_id: int | None = None,
    with_cancelled: bool = False,
) -> list[Booking]:
    tz = ZoneInfo(zone)
    where = [
        Booking.organization_id == organization_id,
        Booking.starts_at >= local_midnight(first, tz),
        Booking.starts_at < local_midnight(stop, tz),
    ]
    if instructor_id is not None:
        where.append(Booking.instructor_id == instructor_id)
    if location_id is not None:
        where.append(Booking.location_id == location_id)
    if appointment_type_id is not None:
        where.append(Booking.appointment_type_id == appointment_type_id)
    if not with_cancelled:
        where.append(Booking.status == BookingStatus.CONFIRMED.value)
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(*where)
            .options(
                selectinload(Booking.appointment_type),
                selectinload(Booking.location),
                selectinload(Booking.instructor).selectinload(Membership.user),
                selectinload(Booking.attendees)
                .selectinload(BookingAttendee.student)
                .selectinload(Membership.user),
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )


def build_grid(
    view: str,
    anchor: date,
    today: date,
    zone: str,
    bookings: list[Booking],
    url_for_booking,
    working: dict[date, list[tuple[time, time]]] | None = None,
    busy: list[tuple[datetime, datetime]] = (),
) -> Grid:
    tz = ZoneInfo(zone)
    first, stop, in_first, in_stop = view_range(view, anchor)
    days = {
        first + timedelta(days=n): Day(
            first + timedelta(days=n),
            is_today=first + timedelta(days=n) == today,
            in_range=in_first <= first + timedelta(days=n) < in_stop,
        )
        for n in range((stop - first).days)
    }
    hours = set(range(FIRST_HOUR, LAST_HOUR))
    for booking in bookings:
        starts, ends = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
        day = days.get(starts.date())
        if day is None:
            continue
        entry = Entry(booking, starts, ends, url_for_booking(booking))
        day.entries.append(entry)
        day.by_hour[starts.hour].append(entry)
        hours.add(starts.hour)
    for day_local, windows in (working or {}).items():
        if day_local in days:
            days[day_local].working = windows
            for start, end in windows:
                hours.update(range(start.hour, end.hour + (1 if end.minute else 0)))
    for busy_start, busy_end in busy:
        begins, ends = busy_start.astimezone(tz), busy_end.astimezone(tz)
        day_local = begins.date()
        while day_local <= ends.date():
            day = days.get(day_local)
            if day is not None:
                first_moment = begins.time() if day_local == begins.date() else time()
                last_moment = ends.time() if day_local == ends.date() else time(23, 59, 59)
                if last_moment > first_moment:
                    day.busy.append((first_moment, last_moment))
            day_local += timedelta(days=1)
    return Grid(view, first, list(days.values()), sorted(hours), zone)


def busy_times(
    organization_id: int, zone: str, instructor_id: int, first: date, stop: date
) -> list[tuple[datetime, datetime]]:
    """Busy stretches read from the instructor's own calendar, for the week's shading."""
    tz = ZoneInfo(zone)
    return [
        (starts, ends)
        for starts, ends in db.session.execute(
            sa.select(BusyTime.starts_at, BusyTime.ends_at)
            .where(
                BusyTime.organization_id == organization_id,
                BusyTime.instructor_id == instructor_id,
                BusyTime.ends_at > local_midnight(first, tz),
                BusyTime.starts_at < local_midnight(stop, tz),
            )
            .order_by(BusyTime.starts_at)
        )
    ]


def working_hours(
    organization_id: int, zone: str, instructor_id: int, first: date, stop: date
) -> dict[date, list[tuple[time, time]]]:
    """The instructor's hours per local day (weekly hours or that day's override), from the
    same loader and core the booking pages use."""
    calendar = load_calendar(organization_id, zone, first, stop, instructor_ids=[instructor_id])
    days = [first + timedelta(days=n) for n in range((stop - first).days)]
    return {day: list(calendar.hours_on(instructor_id, day)) for day in days}
