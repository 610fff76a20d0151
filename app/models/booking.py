"""Bookings: a lesson or group session on an instructor's calendar, and the students in it.

- ``Booking`` is the session: type, instructor, when (UTC), where, and how many seats are
  taken. A private lesson is a session with one seat. The database refuses two confirmed
  sessions of one instructor whose *occupied* ranges (lesson plus buffers) overlap: an
  exclusion constraint, the last guard behind the booking service's per-instructor lock.
- ``BookingAttendee`` is one student's seat in a session. The database refuses a student in
  two confirmed seats at overlapping times.
- ``BookingSeries`` ties the occurrences of a weekly lesson together.
- ``BookingChange`` is the history: who did what, when, from which time to which.

Rows are written only by ``app.booking.service``, which owns the transactions.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.dialects.postgresql import TSTZRANGE, ExcludeConstraint, Range
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from app import clock
from app.models.base import TenantOwned, tenant_fk, tenant_unique_id
from app.models.catalog import AppointmentType, Location, LocationMode
from app.models.organization import Membership
from app.school_time import shown_moment


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class ChangeAction(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    DETAILS_CHANGED = "details_changed"

    @property
    def label(self) -> str:
        return {
            "booked": "Booked",
            "cancelled": "Cancelled",
            "rescheduled": "Rescheduled",
            "details_changed": "Details changed",
        }[self.value]


_STATUS_VALID = "status IN ('confirmed', 'cancelled')"
_CONFIRMED = sa.text("status = 'confirmed'")


def occupied_range(
    starts_at: datetime, ends_at: datetime, before_minutes: int, after_minutes: int
) -> Range:
    """The time a session keeps its instructor busy: the lesson plus its buffers."""
    return Range(
        starts_at - timedelta(minutes=before_minutes),
        ends_at + timedelta(minutes=after_minutes),
        bounds="[)",
    )


def _membership(column: str, model: str):
    return relationship(
        Membership, primaryjoin=f"Membership.id == foreign({model}.{column})", viewonly=True
    )


class Booking(TenantOwned, Model):
    """A lesson or group session: one instructor, one time, one place, ``capacity`` seats."""

    __tablename__ = "bookings"
    __table_args__ = (
        tenant_unique_id("bookings"),
        tenant_fk(["appointment_type_id"], "appointment_types"),
        tenant_fk(["instructor_id"], "memberships"),
        tenant_fk(["location_id"], "locations"),
        tenant_fk(["created_by_id"], "memberships"),
        tenant_fk(["cancelled_by_id"], "memberships"),
        sa.CheckConstraint("ends_at > starts_at", name="bookings_end_after_start"),
        sa.CheckConstraint(
            "occupied @> tstzrange(starts_at, ends_at, '[)')",
            name="bookings_occupied_covers_lesson",
        ),
        sa.CheckConstraint(
            "seats_taken BETWEEN 0 AND capacity", name="bookings_seats_within_capacity"
        ),
        sa.CheckConstraint(
            "location_mode IN ('in_person', 'online', 'at_home') AND "
            "(location_mode = 'in_person') = (location_id IS NOT NULL)",
            name="bookings_location_matches_mode",
        ),
        sa.CheckConstraint(_STATUS_VALID, name="bookings_status_valid"),
        # Two confirmed sessions of one instructor never overlap, buffers included.
        ExcludeConstraint(
            ("organization_id", "="),
            ("instructor_id", "="),
            ("occupied", "&&"),
            using="gist",
            where=_CONFIRMED,
            name="bookings_no_instructor_overlap",
        ),
        sa.Index("ix_bookings_starts_at", "organization_id", "starts_at"),
    )

    appointment_type_id: Mapped[int] = mapped_column(nullable=False)
    instructor_id: Mapped[int] = mapped_column(nullable=False)
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    # Copied from the type when booked, so editing a type never moves existing lessons.
    buffer_before_minutes: Mapped[int] = mapped_column(nullable=False, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(nullable=False, default=0)
    occupied: Mapped[Range[datetime]] = mapped_column(TSTZRANGE, nullable=False)
    location_mode: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    location_id: Mapped[int | None] = mapped_column()
    address: Mapped[str | None] = mapped_column(sa.Text)  # at the student's location
    meeting_link: Mapped[str | None] = mapped_column(sa.String(500))  # online
    capacity: Mapped[int] = mapped_column(nullable=False, default=1)
    seats_taken: Mapped[int] = mapped_column(nullable=False, default=0)
    status: Mapped[str] = mapped_column(
        sa.String(16), nullable=False, default=BookingStatus.CONFIRMED.value
    )
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    created_by_id: Mapped[int | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancelled_by_id: Mapped[int | None] = mapped_column()
    cancellation_reason: Mapped[str | None] = mapped_column(sa.Text)
    # iCal: raised on every reschedule and cancellation, so calendar apps take the new version
    # (RFC 5545 SEQUENCE); every write through the ORM or Core moves ``updated_at``.
    sequence: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True),
        nullable=False,
        default=clock.now,
        onupdate=clock.now,
        server_default=sa.func.now(),
    )

    appointment_type: Mapped[AppointmentType] = relationship(
        AppointmentType,
        primaryjoin=lambda: AppointmentType.id == foreign(Booking.appointment_type_id),
        viewonly=True,
    )
    instructor: Mapped[Membership] = _membership("instructor_id", "Booking")
    location: Mapped[Location | None] = relationship(
        Location, primaryjoin=lambda: Location.id == foreign(Booking.location_id), viewonly=True
    )
    created_by: Mapped[Membership | None] = _membership("created_by_id", "Booking")
    cancelled_by: Mapped[Membership | None] = _membership("cancelled_by_id", "Booking")
    attendees: Mapped[list[BookingAttendee]] = relationship(
        "BookingAttendee",
        primaryjoin="Booking.id == foreign(BookingAttendee.booking_id)",
        order_by="BookingAttendee.id",
        viewonly=True,
    )

    def set_times(self, starts_at: datetime, ends_at: datetime) -> None:
        self.starts_at, self.ends_at = starts_at, ends_at
        self.occupied = occupied_range(
            starts_at, ends_at, self.buffer_before_minutes, self.buffer_after_minutes
        )

    @property
    def is_confirmed(self) -> bool:
        return self.status == BookingStatus.CONFIRMED.value

    @property
    def mode_label(self) -> str:
        return LocationMode(self.location_mode).label

    @property
    def where_display(self) -> str:
        if self.location_mode == LocationMode.IN_PERSON.value and self.location is not None:
            address = self.location.address
            return f"{self.location.name}, {address}" if address else self.location.name
        if self.location_mode == LocationMode.AT_HOME.value:
            return f"At the student's location{': ' + self.address if self.address else ''}"
        return "Online" + (f": {self.meeting_link}" if self.meeting_link else "")

    @property
    def students_display(self) -> str:
        return ", ".join(
            a.student.full_name for a in self.attendees if a.status == BookingStatus.CONFIRMED.value
        )

    @property
    def seats_display(self) -> str:
        return f"{self.seats_taken} / {self.capacity}"

    def __str__(self) -> str:
        return f"{self.appointment_type} with {self.instructor}, {shown_moment(self.starts_at)}"


class BookingSeries(TenantOwned, Model):
    """A weekly lesson booked in one step: same weekday and local time, N weeks or until a date."""

    __tablename__ = "booking_series"
    __table_args__ = (
        tenant_unique_id("booking_series"),
        tenant_fk(["student_id"], "memberships"),
        tenant_fk(["appointment_type_id"], "appointment_types"),
        tenant_fk(["instructor_id"], "memberships"),
        tenant_fk(["created_by_id"], "memberships"),
        sa.CheckConstraint(
            "weeks IS NOT NULL OR until_day IS NOT NULL", name="booking_series_has_end"
        ),
    )

    student_id: Mapped[int] = mapped_column(nullable=False)
    appointment_type_id: Mapped[int] = mapped_column(nullable=False)
    instructor_id: Mapped[int] = mapped_column(nullable=False)
    first_starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    weeks: Mapped[int | None] = mapped_column()
    until_day: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    created_by_id: Mapped[int | None] = mapped_column()

    student: Mapped[Membership] = _membership("student_id", "BookingSeries")
    instructor: Mapped[Membership] = _membership("instructor_id", "BookingSeries")


class BookingAttendee(TenantOwned, Model):
    """One student's seat in a session (a private lesson has exactly one)."""

    __tablename__ = "booking_attendees"
    __table_args__ = (
        tenant_unique_id("booking_attendees"),
        tenant_fk(["booking_id"], "bookings"),
        tenant_fk(["student_id"], "memberships"),
        tenant_fk(["series_id"], "booking_series"),
        tenant_fk(["booked_by_id"], "memberships"),
        tenant_fk(["cancelled_by_id"], "memberships"),
        sa.CheckConstraint(_STATUS_VALID, name="booking_attendees_status_valid"),
        # A student cannot be in two places at once.
        ExcludeConstraint(
            ("organization_id", "="),
            ("student_id", "="),
            ("during", "&&"),
            using="gist",
            where=_CONFIRMED,
            name="booking_attendees_no_student_overlap",
        ),
        sa.Index("ix_booking_attendees_booking", "organization_id", "booking_id"),
        sa.Index("ix_booking_attendees_series", "organization_id", "series_id"),
    )

    booking_id: Mapped[int] = mapped_column(nullable=False)
    student_id: Mapped[int] = mapped_column(nullable=False)
    series_id: Mapped[int | None] = mapped_column()
    # The lesson's own range (no buffers), copied from the session for the constraint above.
    during: Mapped[Range[datetime]] = mapped_column(TSTZRANGE, nullable=False)
    status: Mapped[str] = mapped_column(
        sa.String(16), nullable=False, default=BookingStatus.CONFIRMED.value
    )
    notes: Mapped[str | None] = mapped_column(sa.Text)
    booked_by_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancelled_by_id: Mapped[int | None] = mapped_column()
    cancellation_reason: Mapped[str | None] = mapped_column(sa.Text)

    booking: Mapped[Booking] = relationship(
        Booking,
        primaryjoin=lambda: Booking.id == foreign(BookingAttendee.booking_id),
        viewonly=True,
    )
    student: Mapped[Membership] = _membership("student_id", "BookingAttendee")
    booked_by: Mapped[Membership | None] = _membership("booked_by_id", "BookingAttendee")
    series: Mapped[BookingSeries | None] = relationship(
        BookingSeries,
        primaryjoin=lambda: BookingSeries.id == foreign(BookingAttendee.series_id),
        viewonly=True,
    )

    @property
    def is_confirmed(self) -> bool:
        return self.status == BookingStatus.CONFIRMED.value

    def __str__(self) -> str:
        return f"{self.student} – {self.booking}"


class BookingChange(TenantOwned, Model):
    """History: every booking, cancellation and reschedule, by whom and from what to what."""

    __tablename__ = "booking_changes"
    __table_args__ = (
        tenant_unique_id("booking_changes"),
        tenant_fk(["booking_id"], "bookings"),
        tenant_fk(["attendee_id"], "booking_attendees"),
        tenant_fk(["actor_id"], "memberships"),
        tenant_fk(["from_instructor_id"], "memberships"),
        tenant_fk(["to_instructor_id"], "memberships"),
        sa.CheckConstraint(
            "action IN ('booked', 'cancelled', 'rescheduled', 'details_changed')",
            name="booking_changes_action_valid",
        ),
        sa.Index("ix_booking_changes_booking", "organization_id", "booking_id"),
    )

    booking_id: Mapped[int] = mapped_column(nullable=False)
    attendee_id: Mapped[int | None] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column()  # None: the system (e.g. a task)
    action: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    from_starts_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    to_starts_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    from_instructor_id: Mapped[int | None] = mapped_column()
    to_instructor_id: Mapped[int | None] = mapped_column()
    details: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )

    booking: Mapped[Booking] = relationship(
        Booking, primaryjoin=lambda: Booking.id == foreign(BookingChange.booking_id), viewonly=True
    )
    attendee: Mapped[BookingAttendee | None] = relationship(
        BookingAttendee,
        primaryjoin=lambda: BookingAttendee.id == foreign(BookingChange.attendee_id),
        viewonly=True,
    )
    actor: Mapped[Membership | None] = _membership("actor_id", "BookingChange")
    from_instructor: Mapped[Membership | None] = _membership("from_instructor_id", "BookingChange")
    to_instructor: Mapped[Membership | None] = _membership("to_instructor_id", "BookingChange")

    @property
    def action_label(self) -> str:
        return ChangeAction(self.action).label

    @property
    def actor_display(self) -> str:
        return self.actor.full_name if self.actor is not None else "CourseCove"
