"""E-mails about bookings: confirmations, cancellations, moves and reminders.

Rendered in the transaction that changes the booking and written to the outbox there (see
``outbox.queue_email``), so they describe the booking exactly as that transaction left it.
Each carries the school's name and time zone, the lesson's time in the recipient's own zone
when we know it (``Membership.time_zone``), where it takes place, links to see, cancel or
move it, and an iCal invitation rendered by ``app.calendars.ical`` (the feeds' renderer):
``METHOD:REQUEST`` for a booked or moved lesson, ``METHOD:CANCEL`` (same UID, the higher
SEQUENCE the booking service gave the change) for a cancelled one. A group class: only the
student concerned and the instructor hear of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, render_template

from app import clock
from app.calendars.ical import booking_event, calendar_bytes
from app.extensions import db
from app.mail import sender_address
from app.models import (
    BookingAttendee,
    LocationMode,
    Membership,
    Notification,
    NotificationKind,
    Organization,
)
from app.notifications.outbox import queue_email
from app.scheduling.time_format import format_moment

SUBJECTS = {
    "booked": "Booking confirmed",
    "cancelled": "Booking cancelled",
    "rescheduled": "Booking moved",
    "reminder": "Reminder",
}


def local_label(moment: datetime, time_zone: str, time_format: str) -> str:
    """ "Tuesday 08 December 2026, 2:30 PM (EST)", the school's way of writing times."""
    when = format_moment(moment, time_zone, time_format, "%A %d %B %Y", zone_name=False)
    return f"{when} ({moment.astimezone(ZoneInfo(time_zone)).tzname()})"


def school_url(organization: Organization, path: str) -> str:
    config = current_app.config
    scheme = config.get("PREFERRED_URL_SCHEME", "http")
    return f"{scheme}://{organization.subdomain}.{config['APP_DOMAIN']}{path}"


@dataclass(frozen=True)
class Lesson:
    """One lesson as an e-mail shows it to one recipient."""

    title: str
    instructor: str
    student: str
    when_school: str
    when_recipient: str | None  # None: the recipient's zone is the school's, or unknown
    where: str
    meeting_link: str | None
    view_url: str
    cancel_url: str
    reschedule_url: str
    cancelled: bool


def _where(attendee: BookingAttendee) -> str:
    booking = attendee.booking
    if booking.location_mode == LocationMode.IN_PERSON.value and booking.location is not None:
        address = booking.location.address
        return f"{booking.location.name}, {address}" if address else booking.location.name
    if booking.location_mode == LocationMode.AT_HOME.value:
        return "At the student's location" + (f": {booking.address}" if booking.address else "")
    return "Online"


def _lesson(
    attendee: BookingAttendee,
    organization: Organization,
    recipient: Membership,
) -> Lesson:
    booking = attendee.booking
    zone = recipient.time_zone
    own_zone = zone if zone and zone != organization.time_zone else None
    view = f"/bookings/{attendee.id}"  # the student's and their instructor's page alike
    return Lesson(
        title=booking.appointment_type.name,
        instructor=booking.instructor.full_name,
        student=attendee.student.full_name,
        when_school=local_label(
            booking.starts_at, organization.time_zone, organization.time_format
        ),
        when_recipient=local_label(booking.starts_at, own_zone, organization.time_format)
        if own_zone
        else None,
        where=_where(attendee),
        meeting_link=booking.meeting_link,
        view_url=school_url(organization, view),
        cancel_url=school_url(organization, f"/bookings/{attendee.id}#cancel"),
        reschedule_url=school_url(organization, f"/bookings/{attendee.id}/reschedule"),
        cancelled=not (attendee.is_confirmed and booking.is_confirmed),
    )


def _invitation(
    event: str,
    attendees: Sequence[BookingAttendee],
    organization: Organization,
    recipient: Membership,
    *,
    staff: bool,
) -> tuple[str, str] | None:
    """(iCalendar text, method) for this recipient, from the feeds' renderer."""
    if event == "reminder":
        return None
    method = "CANCEL" if event == "cancelled" else "REQUEST"
    events = []
    seen: set[int] = set()
    for attendee in attendees:
        booking = attendee.booking
        if staff:
            if booking.id in seen:
                continue
            seen.add(booking.id)
        item = booking_event(
            booking,
            link=school_url(organization, f"/bookings/{attendee.id}"),
            seat=None if staff else attendee,
            stamp=clock.now(),
        )
        organizer = organization.contact_email or sender_address()
        item.add("organizer", f"mailto:{organizer}", parameters={"CN": organization.name})
        item.add(
            "attendee",
            f"mailto:{recipient.email}",
            parameters={"CN": recipient.full_name, "ROLE": "REQ-PARTICIPANT"},
        )
        events.append(item)
    if staff and event == "cancelled":
        # The session goes on without this student: an update, not a cancellation.
        method = "CANCEL" if all(not a.booking.is_confirmed for a in attendees) else "REQUEST"
    ics = calendar_bytes(events, method=method, name=organization.name).decode()
    return ics, method


def _queue(
    event: str,
    attendees: Sequence[BookingAttendee],
    organization: Organization,
    recipient: Membership,
    *,
    staff: bool,
    previous_start: datetime | None,
) -> Notification:
    lessons = [_lesson(a, organization, recipient) for a in attendees]
    first = attendees[0]
    context = {
        "event": event,
        "school": organization,
        "school_zone": organization.time_zone,
        "recipient": recipient,
        "staff": staff,
        "lessons": lessons,
        "student": first.student.full_name,
        "previous_school": local_label(
            previous_start, organization.time_zone, organization.time_format
        )
        if previous_start
        else None,
        "previous_recipient": local_label(
            previous_start, recipient.time_zone, organization.time_format
        )
        if previous_start and recipient.time_zone and recipient.time_zone != organization.time_zone
        else None,
        "settings_url": school_url(organization, "/bookings/"),
        "reason": first.cancellation_reason if event == "cancelled" else None,
    }
    subject = f"{organization.name} – {SUBJECTS[event]}: {first.booking.appointment_type.name}"
    invitation = _invitation(event, attendees, organization, recipient, staff=staff)
    return queue_email(
        to=recipient.email,
        subject=subject,
        text=render_template("email/booking.txt", **context),
        html=render_template("email/booking.html", subject=subject, **context),
        organization_id=organization.id,
        kind=NotificationKind(event).value,
        reply_to=organization.contact_email,
        calendar=invitation[0] if invitation else None,
        calendar_method=invitation[1] if invitation else None,
        attendee_id=first.id,
    )


def queue_booking_emails(
    event: str,
    attendees: Sequence[BookingAttendee],
    *,
    previous_start: datetime | None = None,
    organization: Organization | None = None,
) -> list[Notification]:
    """Queue the e-mails about ``event`` for these seats (one student's) in the caller's
    transaction: one to the student, one to each instructor concerned (not for reminders)."""
    if not attendees:
        return []
    if event == "cancelled":
        for attendee in attendees:
            db.session.refresh(attendee.booking)  # seats, status, sequence: Core updates
    if organization is None:
        organization = db.session.get(Organization, attendees[0].organization_id)
    queued = [
        _queue(
            event,
            attendees,
            organization,
            attendees[0].student,
            staff=False,
            previous_start=previous_start,
        )
    ]
    if event == "reminder":
        return queued
    by_instructor: dict[int, list[BookingAttendee]] = {}
    for attendee in attendees:
        by_instructor.setdefault(attendee.booking.instructor_id, []).append(attendee)
    for seats in by_instructor.values():
        queued.append(
            _queue(
                event,
                seats,
                organization,
                seats[0].booking.instructor,
                staff=True,
                previous_start=previous_start,
            )
        )
    return queued
