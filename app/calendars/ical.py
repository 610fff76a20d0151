"""The one way to render bookings to iCalendar (RFC 5545), with the ``icalendar`` library.

Two functions, used by the subscription feeds and by e-mail invitations alike:

- ``booking_event(booking, ...)`` turns one booking into an ``icalendar.Event``;
- ``calendar_bytes(events, method=..., name=...)`` wraps events into a ``VCALENDAR`` and returns
  its bytes (CRLF line endings, lines folded at 75 octets, UTF-8: the library does all three).

What calendar apps rely on, and where it comes from:

- ``UID`` is ``booking-<school id>-<booking id>@coursecove``: the same booking keeps it for
  ever, through reschedules and cancellation, so an app updates its copy instead of adding a
  second one.
- ``SEQUENCE`` is ``Booking.sequence``, raised by the booking service on every reschedule and
  when the session is cancelled: apps ignore an update whose SEQUENCE is not higher.
- ``DTSTART`` / ``DTEND`` are in UTC (``...Z``), so no ``VTIMEZONE`` is needed; apps show them
  in the reader's own zone.
- ``DTSTAMP`` defaults to ``LAST-MODIFIED`` (the booking's ``updated_at``), so a feed stays
  byte-for-byte the same until something changes. An e-mail invitation passes ``stamp=now``.

Example (an e-mail invitation)::

    from app.calendars.ical import booking_event, calendar_bytes
    event = booking_event(booking, link=url, seat=attendee, stamp=clock.now())
    event.add("organizer", "mailto:school@example.com")     # iTIP wants these two
    event.add("attendee", f"mailto:{attendee.student.user.email}")
    body = calendar_bytes([event], method="REQUEST", name=school.name)  # or "CANCEL"
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import icalendar

from app.models import Booking, BookingAttendee, BookingStatus

PRODID = "-//CourseCove//Bookings//EN"
UID_DOMAIN = "coursecove"
CONFIRMED = BookingStatus.CONFIRMED.value
_END = b"END:VCALENDAR\r\n"


def booking_uid(booking: Booking) -> str:
    """The event's UID: one per booking (session), never reused, never changed."""
    return f"booking-{booking.organization_id}-{booking.id}@{UID_DOMAIN}"


def booking_event(
    booking: Booking,
    *,
    link: str | None = None,
    seat: BookingAttendee | None = None,
    stamp: datetime | None = None,
) -> icalendar.Event:
    """One booking as an ``icalendar.Event``.

    ``link``: the page where the reader sees the booking (added to DESCRIPTION and as URL).
    ``seat``: render it for that one student (a student's feed or invitation): only their
    notes appear, and the event is cancelled when *their* seat is, even if the group class
    goes on. Without ``seat`` it is the school's and instructor's view: every confirmed
    student with their notes.
    ``stamp``: DTSTAMP; defaults to the booking's last change.
    """
    seats = [seat] if seat is not None else [a for a in booking.attendees if a.is_confirmed]
    cancelled = not booking.is_confirmed or (seat is not None and not seat.is_confirmed)
    modified = _utc(booking.updated_at)
    if seat is not None and seat.cancelled_at is not None:
        modified = max(modified, _utc(seat.cancelled_at))
    type_name = booking.appointment_type.name

    event = icalendar.Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", _utc(stamp) if stamp is not None else modified)
    event.add("dtstart", _utc(booking.starts_at))
    event.add("dtend", _utc(booking.ends_at))
    event.add("summary", _summary(booking, type_name, seats, seat is not None))
    event.add("location", _location(booking))
    event.add("description", _description(booking, type_name, seats, link, cancelled))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("sequence", booking.sequence or 0)
    event.add("last-modified", modified)
    event.add("created", _utc(booking.created_at))
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    if link:
        event.add("url", link)
    return event


def calendar_bytes(
    events: Iterable[icalendar.Event | bytes],
    *,
    method: str = "PUBLISH",
    name: str,
    description: str | None = None,
    refresh: timedelta | None = None,
    time_zone: str | None = None,
) -> bytes:
    """A ``VCALENDAR`` holding ``events``, as bytes ready to send.

    ``events``: ``icalendar.Event`` objects, or events the library already rendered
    (``event.to_ical()``; the feeds keep those, so an unchanged booking is not rendered again).

    ``method``: ``PUBLISH`` for subscription feeds, ``REQUEST`` / ``CANCEL`` for invitations.
    ``name``: the calendar's name in the app (``NAME`` and ``X-WR-CALNAME``).
    ``refresh``: how often subscribers should re-read it (``REFRESH-INTERVAL`` and
    ``X-PUBLISHED-TTL``); leave it out for invitations.
    ``time_zone``: the school's zone as ``X-WR-TIMEZONE`` (a display hint; times stay UTC).
    """
    calendar = icalendar.Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", PRODID)
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    if description:
        calendar.add("description", description)
        calendar.add("x-wr-caldesc", description)
    if time_zone:
        calendar.add("x-wr-timezone", time_zone)
    if refresh is not None:
        calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", icalendar.vDuration(refresh))
    # The library renders the calendar's own lines and each event's (folding, escaping, CRLF);
    # the events go between them exactly as they would inside the component.
    head = calendar.to_ical()
    assert head.endswith(_END)
    rendered = (event if isinstance(event, bytes) else event.to_ical() for event in events)
    return head[: -len(_END)] + b"".join(rendered) + _END


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _summary(
    booking: Booking, type_name: str, seats: list[BookingAttendee], for_student: bool
) -> str:
    if for_student:
        return f"{type_name} with {booking.instructor.full_name}"
    if booking.capacity > 1:
        return f"{type_name} ({booking.seats_taken}/{booking.capacity})"
    if seats:
        return f"{type_name}: {seats[0].student.full_name}"
    return type_name


def _location(booking: Booking) -> str:
    if booking.location is not None:
        address = getattr(booking.location, "address", None)
        return f"{booking.location.name}, {address}" if address else booking.location.name
    if booking.address:
        return booking.address
    if booking.meeting_link:
        return booking.meeting_link
    return booking.mode_label


def _description(
    booking: Booking,
    type_name: str,
    seats: list[BookingAttendee],
    link: str | None,
    cancelled: bool,
) -> str:
    lines = []
    if cancelled:
        reason = booking.cancellation_reason or (seats[0].cancellation_reason if seats else None)
        lines.append("Cancelled" + (f": {reason}" if reason else "."))
    lines.append(f"{type_name} with {booking.instructor.full_name}")
    lines.append(f"Where: {booking.where_display}")
    for attendee in seats:
        student = f"Student: {attendee.student.full_name}"
        lines.append(student + (f" (notes: {attendee.notes})" if attendee.notes else ""))
    if booking.meeting_link and booking.location is not None:
        lines.append(f"Meeting link: {booking.meeting_link}")
    if link:
        lines.append(f"Details: {link}")
    return "\n".join(lines)
