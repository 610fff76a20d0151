"""The reminder task (Celery beat): each seat is reminded once, by email, a day ahead."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.booking.tasks import send_lesson_reminders
from app.models import BookingAttendee
from tests.booking.conftest import confirm_url
from tests.conftest import body

PIANO_30 = "Piano lesson (30 min)"


def test_beat_schedules_the_reminders(app):
    from app.tasks import celery_app

    entries = {e["task"] for e in celery_app.conf.beat_schedule.values()}
    assert "booking.send_lesson_reminders" in entries
    assert "booking.send_lesson_reminders" in celery_app.tasks


def test_lessons_within_a_day_are_reminded_once(
    app, visit, music, free_slots, owner, mailbox, clock, outbox
):
    soon = free_slots(music, PIANO_30, days_ahead=3, instructor="Clara", mode="online")[0]
    ada = visit("musicschool", "ada@musicschool.demo")
    attendee_id = int(
        ada.post(confirm_url(music, PIANO_30, soon))
        .headers["Location"]
        .split("/bookings/")[1]
        .split("?")[0]
    )
    mailbox.clear()
    clock.set(soon.start - timedelta(hours=20))  # the lesson is now within the 24-hour lead

    with app.app_context():
        first = send_lesson_reminders()
        second = send_lesson_reminders()
    outbox.send()

    reminders = [m for m in mailbox.wait_for(1) if "Reminder" in m["Subject"]]
    lesson_time = music.local(soon.start).strftime("%H:%M")
    # Ada may have demo lessons within the day as well; this one is reminded exactly once.
    mine = [
        m
        for m in reminders
        if "ada@musicschool.demo" in m["X-Envelope-To"] and lesson_time in body(m)
    ]
    assert first >= 1 and second == 0
    assert len(mine) == 1, f"{len(mine)} reminders of the {lesson_time} lesson"
    owner.expire_all()
    assert (
        owner.scalar(
            sa.select(BookingAttendee.reminder_sent_at).where(BookingAttendee.id == attendee_id)
        )
        is not None
    )
