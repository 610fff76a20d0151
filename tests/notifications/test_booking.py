"""E-mails about bookings, sent over real SMTP by the worker's code: text and HTML, the
school's name and zone, the recipient's own zone (across a DST change), links, and the
iCal invitation parsed back with ``icalendar``."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa

from app.models import Booking, BookingAttendee, Organization
from app.scheduling.time_format import format_time
from tests.booking.conftest import confirm_url
from tests.conftest import body

PIANO_30 = "Piano lesson (30 min)"
PIANO_45 = "Piano lesson (45 min)"
ADA = "ada@musicschool.demo"
CLARA = "clara@musicschool.demo"
FAR = 28


def label(moment: datetime, zone: str) -> str:
    """How the music school's e-mails write a moment: it uses 12-hour times (New York)."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%A %d %B %Y}, {format_time(local, '12h')} ({local.tzname()})"


def attendee_id_of(response) -> int:
    assert response.status_code == 302, response.data[-600:]
    return int(response.headers["Location"].split("/bookings/")[1].split("?")[0])


def invitation(message) -> icalendar.Calendar:
    """The text/calendar alternative, parsed; also checks the invite.ics attachment."""
    calendars = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    attachments = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    assert len(calendars) == 1 and len(attachments) == 1, [
        p.get_content_type() for p in message.walk()
    ]
    assert calendars[0].get_param("method") == str(
        icalendar.Calendar.from_ical(calendars[0].get_content())["METHOD"]
    )
    assert attachments[0].get_payload(decode=True) == calendars[0].get_content().encode()
    return icalendar.Calendar.from_ical(calendars[0].get_content())


def only_event(calendar: icalendar.Calendar) -> icalendar.Event:
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1, f"{len(events)} events"
    return events[0]


def school_name(owner, music) -> str:
    return owner.scalar(sa.select(Organization.name).where(Organization.id == music.id))


def test_confirmation_reaches_student_and_instructor_with_times_links_and_invitation(
    visit, music, free_slots, owner, mailbox, outbox
):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    ada = visit("musicschool", ADA)

    attendee_id = attendee_id_of(
        ada.post(confirm_url(music, PIANO_30, slot) + "&tz=Europe/Paris", data={})
    )
    before_worker = list(mailbox.messages)
    sent = outbox.send()
    mailbox.wait_for(2)
    to_ada, to_clara = mailbox.to(ADA), mailbox.to(CLARA)

    assert before_worker == [], "nothing is sent from inside the request"
    assert sent == 2 and len(to_ada) == 1 and len(to_clara) == 1
    name = school_name(owner, music)
    text, html = body(to_ada[0]), to_ada[0].get_body(("html",)).get_content()
    school_time = label(slot.start, "America/New_York")
    paris_time = label(slot.start, "Europe/Paris")
    assert to_ada[0]["Subject"] == f"{name} – Booking confirmed: {PIANO_30}"
    assert f"{school_time}, {name}'s time (America/New_York)" in text
    assert f"{paris_time}, your time (Europe/Paris)" in text
    assert school_time in html and paris_time in html
    site = "http://musicschool.coursecove.test"
    assert f"See it: {site}/bookings/{attendee_id}" in text
    assert f"Reschedule: {site}/bookings/{attendee_id}/reschedule" in text
    assert f'href="{site}/bookings/{attendee_id}/reschedule"' in html
    assert "Where: Online" in text

    booking = owner.scalar(
        sa.select(Booking)
        .join(BookingAttendee, BookingAttendee.booking_id == Booking.id)
        .where(BookingAttendee.id == attendee_id)
    )
    event = only_event(calendar := invitation(to_ada[0]))
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"booking-{music.id}-{booking.id}@coursecove"
    assert event.decoded("DTSTART") == slot.start
    assert event.decoded("DTEND") == slot.start + timedelta(minutes=30)
    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert str(event["ATTENDEE"]) == f"mailto:{ADA}"

    instructor_text = body(to_clara[0])
    assert "Ada Lovelace booked a lesson with you" in instructor_text
    assert "your time" not in instructor_text, "Clara's own zone is not known"
    assert str(invitation(to_clara[0])["METHOD"]) == "REQUEST"


def test_cancellation_sends_cancel_with_the_same_uid_and_a_higher_sequence(
    visit, music, free_slots, mailbox, outbox
):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[1]
    ada = visit("musicschool", ADA)
    attendee_id = attendee_id_of(ada.post(confirm_url(music, PIANO_30, slot), data={}))
    outbox.send()
    booked = only_event(invitation(mailbox.wait_for(2) and mailbox.to(ADA)[0]))
    mailbox.clear()

    ada.post(f"/bookings/{attendee_id}/cancel", data={"reason": "Holiday"})
    outbox.send()
    mailbox.wait_for(2)
    cancelled_mail = mailbox.to(ADA)[0]
    cancelled = invitation(cancelled_mail)

    assert "Booking cancelled" in cancelled_mail["Subject"]
    assert "this booking has been cancelled" in body(cancelled_mail)
    assert str(cancelled["METHOD"]) == "CANCEL"
    event = only_event(cancelled)
    assert str(event["UID"]) == str(booked["UID"])
    assert int(event["SEQUENCE"]) > int(booked["SEQUENCE"])
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(only_event(invitation(mailbox.to(CLARA)[0]))["STATUS"]) == "CANCELLED"


def test_reschedule_moves_the_event_same_uid_higher_sequence_and_says_where_it_was(
    visit, music, free_slots, mailbox, outbox
):
    slots = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    ada = visit("musicschool", ADA)
    attendee_id = attendee_id_of(ada.post(confirm_url(music, PIANO_30, slots[0]), data={}))
    outbox.send()
    booked = only_event(invitation(mailbox.wait_for(2) and mailbox.to(ADA)[0]))
    mailbox.clear()
    target = slots[10]

    response = ada.post(
        f"/bookings/{attendee_id}/reschedule", data={"start": target.start.isoformat()}
    )
    outbox.send()
    mailbox.wait_for(2)
    moved_mail = mailbox.to(ADA)[0]
    moved = only_event(calendar := invitation(moved_mail))

    assert response.status_code == 302
    assert "Booking moved" in moved_mail["Subject"]
    assert f"It was on {label(slots[0].start, 'America/New_York')}" in body(moved_mail)
    assert label(target.start, "America/New_York") in body(moved_mail)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(moved["UID"]) == str(booked["UID"])
    assert int(moved["SEQUENCE"]) > int(booked["SEQUENCE"])
    assert moved.decoded("DTSTART") == target.start
    assert len(mailbox.to(CLARA)) == 1


def test_group_class_mail_goes_only_to_the_student_concerned_and_the_instructor(
    visit, music, free_slots, ensemble, make_students, mailbox, outbox
):
    from tests.booking.conftest import QUICK_PASSWORD

    slot = free_slots(music, ensemble, days_ahead=FAR, instructor="Clara", mode="online")[0]
    first, second = make_students(music, 2, prefix="ensemble")
    for email in (first, second):
        student = visit("musicschool")
        student.login(email, QUICK_PASSWORD)
        attendee_id_of(student.post(confirm_url(music, ensemble, slot), data={}))
    outbox.send()
    mailbox.wait_for(4)

    recipients = sorted(m["X-Envelope-To"] for m in mailbox.messages)

    assert recipients == sorted([first, CLARA, second, CLARA]), recipients
    assert all(first not in body(m) and "Racer0" not in body(m) for m in mailbox.to(second))


def test_times_follow_each_zone_across_a_dst_change(
    visit, music, weekly_free_slot, clock, mailbox, outbox
):
    # New York moves its clocks on 14 March 2027, London on 28 March: a weekly lesson at
    # one New York time is an hour earlier in London between the two.
    clock.set(datetime.fromisoformat("2027-03-01T15:00:00+00:00"))
    slot, weeks = weekly_free_slot(
        music, PIANO_45, 3, days_ahead=6, instructor="Clara", mode="online"
    )
    ada = visit("musicschool", ADA)
    url = confirm_url(music, PIANO_45, slot) + "&tz=Europe/London"
    form = {"repeat": "weeks", "weeks": "3", "step": "book-series"}
    form["accepted"] = [w.isoformat() for w in weeks]

    response = ada.post(url, data=form)
    outbox.send()
    text = body(mailbox.wait_for(2) and mailbox.to(ADA)[0])

    assert response.status_code == 302, response.data[-500:]
    new_york = [w.astimezone(ZoneInfo("America/New_York")) for w in weeks]
    london = [w.astimezone(ZoneInfo("Europe/London")) for w in weeks]
    assert len({t.strftime("%H:%M") for t in new_york}) == 1, "one local time in New York"
    assert {t.tzname() for t in new_york} == {"EST", "EDT"}, "the series spans the change"
    assert len({t.strftime("%H:%M") for t in london}) == 2, "London sees the hour move"
    for week in weeks:
        assert label(week, "America/New_York") in text
        assert f"{label(week, 'Europe/London')}, your time (Europe/London)" in text
    assert len(list(invitation(mailbox.to(ADA)[0]).walk("VEVENT"))) == 3
