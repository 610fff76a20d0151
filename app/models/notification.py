"""The notification outbox and the lesson reminders that feed it.

- ``Notification`` is one e-mail to one recipient, written in the same transaction as the
  change that causes it (a booking, an invitation, a password reset): a committed change
  always has its e-mails, a rolled-back one never does. A Celery task sends it after the
  commit; a beat sweeper picks up rows whose task was never published or whose worker died.
  ``organization_id`` is NULL for platform e-mails (an account with no school yet); its
  Row-Level Security policy compares with ``IS NOT DISTINCT FROM``, so a school's
  transaction sees and writes only its own rows and a transaction without a school only
  the platform's.
- ``BookingReminder`` is one reminder of one seat at one lesson time (a row per seat ×
  offset × start), planned when the seat is booked or moved. The beat task claims due rows
  with ``FOR UPDATE SKIP LOCKED`` and a conditional status change, so each goes out once.

Rows are written only by ``app.notifications``.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from app import clock
from app.models.base import TenantOwned, tenant_fk, tenant_unique_id
from app.models.booking import BookingAttendee
from app.models.organization import Organization


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a worker (first try or a retry after next_attempt_at)
    SENDING = "sending"  # claimed by a worker; a claim older than the lease is retaken
    SENT = "sent"  # accepted by the SMTP server, or kept in the local outbox
    FAILED = "failed"  # gave up after MAIL_MAX_ATTEMPTS; last_error says why

    @property
    def label(self) -> str:
        return {
            "pending": "Waiting",
            "sending": "Sending",
            "sent": "Sent",
            "failed": "Failed",
        }[self.value]


class NotificationKind(enum.StrEnum):
    ACCOUNT = "account"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    REMINDER = "reminder"


class Notification(Model):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')", name="notifications_status_valid"
        ),
        sa.CheckConstraint(
            "transport IS NULL OR transport IN ('smtp', 'outbox')",
            name="notifications_transport_valid",
        ),
        tenant_fk(["attendee_id"], "booking_attendees"),
        sa.Index(
            "ix_notifications_unfinished",
            "next_attempt_at",
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
        ),
        sa.Index("ix_notifications_org_created", "organization_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    recipient: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    text_body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    html_body: Mapped[str | None] = mapped_column(sa.Text)
    reply_to: Mapped[str | None] = mapped_column(sa.String(254))
    # The iCal invitation (METHOD:REQUEST or CANCEL) attached to booking e-mails.
    calendar: Mapped[str | None] = mapped_column(sa.Text)
    calendar_method: Mapped[str | None] = mapped_column(sa.String(16))
    attendee_id: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(
        sa.String(16),
        nullable=False,
        default=NotificationStatus.PENDING.value,
        server_default=NotificationStatus.PENDING.value,
    )
    attempts: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    # Leases and backoff are measured on the database's clock (shared by all processes).
    next_attempt_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )
    claimed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    transport: Mapped[str | None] = mapped_column(sa.String(16))
    # The whole message as it would have gone over SMTP, when kept in the local outbox.
    raw_message: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )

    organization: Mapped[Organization | None] = relationship(
        Organization,
        primaryjoin=lambda: Organization.id == foreign(Notification.organization_id),
        viewonly=True,
    )
    attendee: Mapped[BookingAttendee | None] = relationship(
        BookingAttendee,
        primaryjoin=lambda: BookingAttendee.id == foreign(Notification.attendee_id),
        viewonly=True,
    )

    @property
    def status_label(self) -> str:
        return NotificationStatus(self.status).label

    @property
    def school_display(self) -> str:
        return self.organization.name if self.organization is not None else "Platform"

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient}"


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"  # planned, not yet due (or due and not yet claimed)
    QUEUED = "queued"  # claimed by the beat; its e-mail is in the outbox (notification_id)
    SKIPPED = "skipped"  # claimed but not worth sending (lesson started, superseded, opted out)
    CANCELLED = "cancelled"  # the seat was cancelled or moved before it was due


class BookingReminder(TenantOwned, Model):
    __tablename__ = "booking_reminders"
    __table_args__ = (
        tenant_unique_id("booking_reminders"),
        tenant_fk(["attendee_id"], "booking_attendees"),
        sa.CheckConstraint(
            "status IN ('pending', 'queued', 'skipped', 'cancelled')",
            name="booking_reminders_status_valid",
        ),
        sa.CheckConstraint("minutes_before > 0", name="booking_reminders_before_positive"),
        # One reminder per seat, offset and lesson time: a moved lesson gets new ones.
        sa.UniqueConstraint(
            "attendee_id",
            "minutes_before",
            "lesson_starts_at",
            name="uq_booking_reminders_seat_offset_start",
        ),
        sa.Index(
            "ix_booking_reminders_due",
            "due_at",
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_booking_reminders_attendee", "organization_id", "attendee_id"),
    )

    attendee_id: Mapped[int] = mapped_column(nullable=False)
    minutes_before: Mapped[int] = mapped_column(nullable=False)
    lesson_starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    due_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(
        sa.String(16), nullable=False, default=ReminderStatus.PENDING.value
    )
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(sa.String(200))
    notification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notifications.id", ondelete="SET NULL")
    )

    attendee: Mapped[BookingAttendee] = relationship(
        BookingAttendee,
        primaryjoin=lambda: BookingAttendee.id == foreign(BookingReminder.attendee_id),
        viewonly=True,
    )
