"""One booking rendered to iCal and parsed back with ``icalendar``: field by field, across a
reschedule (same UID, higher SEQUENCE) and a cancellation (STATUS:CANCELLED)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from app.calendars.ical import booking_event, calendar_bytes
from app.extensions import db
from app.models import Booking, BookingAttendee, Membership
from tests.calendars.conftest import FAR, PIANO_30, in_school


def render(app, school, booking_id: int, **options) -> icalendar.Event:
    with in_school(app, school):
        booking = db.session.get(Booking, booking_id)
        body = calendar_bytes(
            [booking_event(booking, link="https://example.test/b/1", **options)],
            name="Clara’s lessons ♫",
            refresh=timedelta(hours=1),
            time_zone=school.time_zone,
        )
    calendar = icalendar.Calendar.from_ical(body)
    (event,) = calendar.walk("VEVENT")
    return calendar, body, event


def test_booking_event_has_every_field_calendar_apps_need(app, music, book):
    attendee_id, booking_id = book(music, notes="Chopin nocturne, bring the score")

    calendar, body, event = render(app, music, booking_id)

    with in_school(app, music):
        booking = db.session.get(Booking, booking_id)
        starts, ends, updated = booking.starts_at, booking.ends_at, booking.updated_at
    assert calendar["VERSION"] == "2.0" and calendar["METHOD"] == "PUBLISH"
    assert calendar["CALSCALE"] == "GREGORIAN" and "CourseCove" in calendar["PRODID"]
    assert calendar["X-WR-CALNAME"] == "Clara’s lessons ♫" == calendar["NAME"]
    assert calendar["X-WR-TIMEZONE"] == "America/New_York"
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    assert str(event["UID"]) == f"booking-{music.id}-{booking_id}@coursecove"
    assert event.decoded("DTSTART") == starts and event.decoded("DTSTART").tzinfo is not None
    assert event.decoded("DTEND") == ends
    assert b"DTSTART:" + starts.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode() in body
    assert event.decoded("DTSTAMP") == updated == event.decoded("LAST-MODIFIED")
    assert str(event["SUMMARY"]) == f"{PIANO_30}: Ada Lovelace"
    assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) == 0
    description = str(event["DESCRIPTION"])
    assert "Ada Lovelace" in description and "Chopin nocturne" in description
    assert "https://example.test/b/1" in description and str(event["URL"]).endswith("/b/1")
    # An online lesson is where its meeting link is (the demo gives Clara a room).
    assert str(event["LOCATION"]) == "https://meet.example.com/musicschool-clara"
    assert all(len(line) <= 75 for line in body.split(b"\r\n")), "lines folded at 75 octets"
    assert body.count(b"\r\n") > 10 and b"\n" not in body.replace(b"\r\n", b"")


def test_reschedule_keeps_uid_and_raises_sequence_cancel_marks_cancelled(
    app, music, book, free_slots, clock
):
    from app.booking import service

    attendee_id, booking_id = book(music)
    _, _, before = render(app, music, booking_id)
    later = free_slots(music, PIANO_30, days_ahead=FAR + 2, instructor="Clara", mode="online")[0]

    clock.advance(timedelta(minutes=5))
    with in_school(app, music):
        admin = db.session.get(Membership, music.people["Grace"])
        service.reschedule_booking(attendee_id, actor=admin, new_start=later.start)
    _, _, moved = render(app, music, booking_id)
    clock.advance(timedelta(minutes=5))
    with in_school(app, music):
        admin = db.session.get(Membership, music.people["Grace"])
        service.cancel_booking(attendee_id, actor=admin, reason="Teacher ill")
    _, _, cancelled = render(app, music, booking_id)

    assert moved["UID"] == before["UID"] == cancelled["UID"]
    assert int(before["SEQUENCE"]) < int(moved["SEQUENCE"]) < int(cancelled["SEQUENCE"])
    assert moved.decoded("DTSTART") == later.start
    assert moved.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert "Teacher ill" in str(cancelled["DESCRIPTION"])


def test_student_view_shows_only_their_seat_and_their_cancellation(
    app, music, book, ensemble, clock
):
    from app.booking import service

    ada_seat, booking_id = book(music, ensemble, student="Ada", notes="Ada's note")
    alan_seat, same = book(music, ensemble, student="Alan", notes="Alan's note")
    clock.advance(timedelta(minutes=1))
    with in_school(app, music):
        ada = db.session.get(Membership, music.people["Ada"])
        service.cancel_booking(ada_seat, actor=ada, reason="Away that week")
    with in_school(app, music):
        booking = db.session.get(Booking, booking_id)
        for_ada = booking_event(booking, seat=db.session.get(BookingAttendee, ada_seat))
        for_alan = booking_event(booking, seat=db.session.get(BookingAttendee, alan_seat))
        for_staff = booking_event(booking)

    assert same == booking_id, "both seats are in one session"
    assert for_ada["UID"] == for_alan["UID"] == for_staff["UID"]
    assert str(for_ada["STATUS"]) == "CANCELLED" and "Away that week" in for_ada["DESCRIPTION"]
    assert str(for_alan["STATUS"]) == "CONFIRMED" == str(for_staff["STATUS"])
    assert str(for_alan["SUMMARY"]) == f"{ensemble} with Clara Schumann"
    assert "Alan's note" in for_alan["DESCRIPTION"] and "Ada" not in for_alan["DESCRIPTION"]
    assert (
        "Alan's note" in for_staff["DESCRIPTION"] and "Ada's note" not in for_staff["DESCRIPTION"]
    )
    assert str(for_staff["SUMMARY"]) == f"{ensemble} (1/3)"


def test_invitation_method_and_stamp(app, music, book):
    _, booking_id = book(music)
    stamp = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with in_school(app, music):
        booking = db.session.get(Booking, booking_id)
        body = calendar_bytes([booking_event(booking, stamp=stamp)], method="CANCEL", name="X")
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["METHOD"] == "CANCEL" and "REFRESH-INTERVAL" not in calendar
    assert calendar.walk("VEVENT")[0].decoded("DTSTAMP") == stamp
