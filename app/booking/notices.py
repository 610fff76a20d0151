"""Emails about bookings: confirmations, cancellations, reschedules and reminders.

Queued in the booking's own transaction (the notification outbox); the worker sends them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import Booking, BookingAttendee, BookingStatus, Organization
from app.notifications import queue_email

SUBJECTS = {
    "booked": "Booking confirmed",
    "cancelled": "Booking cancelled",
    "rescheduled": "Booking moved",
    "reminder": "Reminder",
}


def local_label(moment: datetime, time_zone: str) -> str:
    local = moment.astimezone(ZoneInfo(time_zone))
    return f"{local:%A %d %B %Y, %H:%M} ({local.tzname()})"


def booking_url(organization: Organization, attendee_id: int) -> str:
    config = current_app.config
    scheme = config.get("PREFERRED_URL_SCHEME", "http")
    return f"{scheme}://{organization.subdomain}.{config['APP_DOMAIN']}/bookings/{attendee_id}"


def _lesson_lines(attendees: list[BookingAttendee], organization: Organization) -> list[str]:
    lines = []
    for attendee in attendees:
        booking = attendee.booking
        lines.append(
            f"- {local_label(booking.starts_at, organization.time_zone)}: "
            f"{booking.appointment_type.name} with {booking.instructor.full_name}, "
            f"{booking.where_display}"
        )
    return lines


def _student_message(
    event: str,
    attendees: list[BookingAttendee],
    organization: Organization,
    previous_start: datetime | None,
) -> str:
    student = attendees[0].student
    intro = {
        "booked": "your booking is confirmed:"
        if len(attendees) == 1
        else f"your {len(attendees)} weekly lessons are confirmed:",
        "cancelled": "this booking has been cancelled:"
        if len(attendees) == 1
        else "these bookings have been cancelled:",
        "rescheduled": "your lesson has moved to:",
        "reminder": "a reminder of your lesson:",
    }[event]
    lines = [f"Hello {student.user.first_name},", "", f"{organization.name}: {intro}", ""]
    lines += _lesson_lines(attendees, organization)
    if previous_start is not None:
        lines += ["", f"(It was on {local_label(previous_start, organization.time_zone)}.)"]
    reason = attendees[0].cancellation_reason if event == "cancelled" else None
    if reason:
        lines += ["", f"Message from {organization.name}: {reason}"]
    lines += [
        "",
        f"See and manage it: {booking_url(organization, attendees[0].id)}",
        "",
        f"— {organization.name}",
    ]
    return "\n".join(lines)


def _instructor_message(
    event: str, attendees: list[BookingAttendee], organization: Organization
) -> str:
    student = attendees[0].student
    verb = {"booked": "booked", "cancelled": "cancelled", "rescheduled": "moved"}[event]
    lines = [f"{student.full_name} {verb}:", ""] + _lesson_lines(attendees, organization)
    return "\n".join(lines + ["", f"— CourseCove for {organization.name}"])


def queue_booking_notices(
    event: str, attendees: list[BookingAttendee], previous_start: datetime | None = None
) -> None:
    """Queue what the student (and the instructor) should hear, in the caller's transaction."""
    if not attendees:
        return
    organization = db.session.get(Organization, attendees[0].organization_id)
    subject = (
        f"{organization.name} – {SUBJECTS[event]}: {attendees[0].booking.appointment_type.name}"
    )
    queue_email(
        to=attendees[0].student.email,
        subject=subject,
        text=_student_message(event, attendees, organization, previous_start),
        reply_to=organization.contact_email,
        organization_id=organization.id,
        kind=event,
        attendee_id=attendees[0].id,
    )
    if event != "reminder":
        for instructor in sorted({a.booking.instructor.email for a in attendees}):
            queue_email(
                to=instructor,
                subject=subject,
                text=_instructor_message(event, attendees, organization),
                organization_id=organization.id,
                kind=event,
                attendee_id=attendees[0].id,
            )


def send_due_reminders(now: datetime, lead: timedelta) -> int:
    """Remind students of lessons starting within ``lead``; each seat is reminded once.

    Runs across all schools, so it uses the privileged connection and scopes nothing by
    request; each reminder is committed on its own, so a crash never re-sends the others.
    """
    from app.tenancy import privileged

    sent = 0
    with privileged():
        due = db.session.scalars(
            sa.select(BookingAttendee.id)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .where(
                BookingAttendee.status == BookingStatus.CONFIRMED.value,
                Booking.status == BookingStatus.CONFIRMED.value,
                BookingAttendee.reminder_sent_at.is_(None),
                Booking.starts_at > now,
                Booking.starts_at <= now + lead,
            )
            .order_by(Booking.starts_at)
        ).all()
        for attendee_id in due:
            # Claim the seat first: of two overlapping runs, only one sends.
            claimed = db.session.scalar(
                sa.update(BookingAttendee)
                .where(
                    BookingAttendee.id == attendee_id, BookingAttendee.reminder_sent_at.is_(None)
                )
                .values(reminder_sent_at=now)
                .returning(BookingAttendee.id)
            )
            if claimed is not None:
                queue_booking_notices("reminder", [db.session.get(BookingAttendee, attendee_id)])
                sent += 1
            db.session.commit()
    return sent
