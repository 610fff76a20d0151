"""Lesson reminders: planned with the booking, claimed once by racing beats, sent by a real
worker; catch-up, cancellation, reschedule, opt-out and the admin's reminder hours."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import BookingReminder, Membership, Notification, Organization
from app.notifications import reminders
from app.tasks import celery_app
from app.tenancy import privileged
from tests.booking.conftest import confirm_url
from tests.conftest import body
from tests.notifications.conftest import QUEUE, SETTINGS

PIANO_30 = "Piano lesson (30 min)"
ADA = "ada@musicschool.demo"
ALAN = "alan@musicschool.demo"
FAR = 28


@pytest.fixture(autouse=True)
def only_this_tests_reminders(owner_engine):
    """A beat claims every due reminder in the database, and its report counts them all:
    reminders that earlier tests left pending (whichever ran before, in whatever order) are
    set aside for the test and put back afterwards."""
    pending = BookingReminder.status == "pending"
    with owner_engine.begin() as connection:
        left = connection.scalars(sa.select(BookingReminder.id).where(pending)).all()
        set_aside = BookingReminder.id.in_(left)
        connection.execute(sa.update(BookingReminder).where(set_aside).values(status="skipped"))
    yield
    with owner_engine.begin() as connection:
        connection.execute(sa.update(BookingReminder).where(set_aside).values(status="pending"))


def book(visit, music, slot, email=ADA) -> int:
    response = visit("musicschool", email).post(confirm_url(music, PIANO_30, slot), data={})
    assert response.status_code == 302, response.data[-600:]
    return int(response.headers["Location"].split("/bookings/")[1].split("?")[0])


def one_days_slots(music, free_slots, count: int) -> list:
    """``count`` free Clara online times on one day (from four weeks ahead), each at least
    90 minutes after the one before (so booking one never takes another)."""
    slots = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    days: dict = {}
    for slot in slots:
        spaced = days.setdefault(music.local(slot.start).date(), [])
        if not spaced or slot.start >= spaced[-1].start + timedelta(minutes=90):
            spaced.append(slot)
    return next(day[:count] for day in days.values() if len(day) >= count)


def reminder_rows(owner, attendee_id: int) -> list[tuple[int, str, object]]:
    owner.expire_all()
    return [
        tuple(row)
        for row in owner.execute(
            sa.select(
                BookingReminder.minutes_before,
                BookingReminder.status,
                BookingReminder.lesson_starts_at,
            )
            .where(BookingReminder.attendee_id == attendee_id)
            .order_by(BookingReminder.lesson_starts_at, BookingReminder.minutes_before.desc())
        )
    ]


def run_beat(app, clock) -> reminders.BeatReport:
    with app.app_context(), privileged():
        report = reminders.queue_due(clock.now())
        db.session.remove()
    return report


def reminder_mails(mailbox, email: str) -> list:
    return [m for m in mailbox.to(email) if "Reminder" in m["Subject"]]


def test_beat_runs_the_reminder_task_every_minute(app):
    entries = {e["task"]: e["schedule"] for e in celery_app.conf.beat_schedule.values()}

    assert entries["notifications.queue_due_reminders"] == 60.0
    assert "notifications.queue_due_reminders" in celery_app.tasks
    assert entries["notifications.sweep"] == 30.0


def test_a_booking_plans_the_schools_reminders_for_its_time(visit, music, free_slots, owner):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]

    attendee_id = book(visit, music, slot)

    assert reminder_rows(owner, attendee_id) == [
        (24 * 60, "pending", slot.start),
        (60, "pending", slot.start),
    ]


@pytest.mark.worker
def test_racing_beats_claim_each_reminder_once_and_the_worker_sends_each_once(
    app, worker, visit, music, free_slots, owner, clock, mailbox, monkeypatch
):
    for key, value in SETTINGS.items():
        monkeypatch.setitem(app.config, key, type(app.config[key])(value))
    lessons = one_days_slots(music, free_slots, 2)
    seats = [book(visit, music, lessons[0], ADA), book(visit, music, lessons[1], ALAN)]
    # Both day-ahead reminders are due, neither hour-ahead one.
    clock.set(lessons[0].start - timedelta(hours=2))
    reports, barrier = [], threading.Barrier(2)

    def beat() -> None:
        barrier.wait()
        reports.append(run_beat(app, clock))

    racers = [threading.Thread(target=beat) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    mailbox.wait_for(4, seconds=20)  # two confirmations went nowhere; wait for the worker
    deadline_rows = [reminder_rows(owner, seat) for seat in seats]

    assert sorted(r.queued for r in reports) in ([0, 2], [1, 1]), reports
    assert [rows[0][:2] for rows in deadline_rows] == [(1440, "queued"), (1440, "queued")]
    assert [rows[1][:2] for rows in deadline_rows] == [(60, "pending"), (60, "pending")]
    _wait_until(lambda: len(reminder_mails(mailbox, ADA)) + len(reminder_mails(mailbox, ALAN)) >= 2)
    assert len(reminder_mails(mailbox, ADA)) == 1 and len(reminder_mails(mailbox, ALAN)) == 1
    assert run_beat(app, clock).queued == 0, "a third beat finds nothing left"
    text = body(reminder_mails(mailbox, ADA)[0])
    assert music.clock(lessons[0].start) in text
    assert "turn lesson reminders off" in text


def test_a_beat_that_was_down_sends_the_closest_useful_reminder_and_skips_the_past(
    app, visit, music, free_slots, owner, clock, mailbox, outbox
):
    started, upcoming = one_days_slots(music, free_slots, 2)
    started_seat = book(visit, music, started, ALAN)
    upcoming_seat = book(visit, music, upcoming, ADA)
    outbox.send()
    mailbox.clear()
    # The beat was down for a day: it wakes 20 minutes before Ada's lesson.
    clock.set(upcoming.start - timedelta(minutes=20))

    report = run_beat(app, clock)
    outbox.send()  # or the module's worker does: wait for it
    _wait_until(lambda: reminder_mails(mailbox, ADA))

    assert reminder_rows(owner, upcoming_seat) == [
        (1440, "skipped", upcoming.start),
        (60, "queued", upcoming.start),
    ]
    assert [r[1] for r in reminder_rows(owner, started_seat)] == ["skipped", "skipped"]
    assert report.queued == 1
    assert report.notes["the lesson had already started"] == 2
    assert report.notes["a closer reminder of this lesson was due too"] == 1
    assert len(reminder_mails(mailbox, ADA)) == 1 and reminder_mails(mailbox, ALAN) == []


def test_cancelled_and_moved_lessons_get_no_stale_reminder_and_moved_ones_get_new_ones(
    app, visit, music, free_slots, owner, clock, mailbox, outbox
):
    slots = one_days_slots(music, free_slots, 3)
    cancelled_seat = book(visit, music, slots[0], ALAN)
    moved_seat = book(visit, music, slots[1], ADA)
    new_time = slots[-1]
    visit("musicschool", ALAN).post(f"/bookings/{cancelled_seat}/cancel", data={})
    moved = visit("musicschool", ADA).post(
        f"/bookings/{moved_seat}/reschedule", data={"start": new_time.start.isoformat()}
    )
    outbox.send()
    mailbox.clear()

    clock.set(slots[1].start - timedelta(minutes=30))  # both old times' reminders would be due
    at_old_times = run_beat(app, clock)
    clock.set(new_time.start - timedelta(minutes=30))
    at_new_time = run_beat(app, clock)
    outbox.send()
    _wait_until(lambda: reminder_mails(mailbox, ADA))

    assert moved.status_code == 302
    assert [r[1] for r in reminder_rows(owner, cancelled_seat)] == ["cancelled", "cancelled"]
    assert reminder_rows(owner, moved_seat) == [
        (1440, "cancelled", slots[1].start),
        (60, "cancelled", slots[1].start),
        (1440, "queued", new_time.start),  # due by then: the new time is later that day
        (60, "queued", new_time.start),
    ]
    assert (at_old_times.queued, at_new_time.queued) == (1, 1)
    _wait_until(lambda: len(reminder_mails(mailbox, ADA)) >= 2)
    sent = [body(m) for m in reminder_mails(mailbox, ADA)]
    new_label = f"{music.clock(new_time.start)} ("
    old_label = f"{music.clock(slots[1].start)} ("
    assert len(sent) == 2 and all(new_label in t and old_label not in t for t in sent)
    assert reminder_mails(mailbox, ALAN) == []


def test_a_student_who_turns_reminders_off_gets_none(
    app, visit, music, free_slots, owner, clock, mailbox, outbox
):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    seat = book(visit, music, slot, ADA)
    ada = visit("musicschool", ADA)
    page = ada.get("/bookings/").data.decode()

    turned_off = ada.post("/bookings/reminders", data={})
    owner.expire_all()
    choice = owner.scalar(
        sa.select(Membership.lesson_reminders).where(Membership.id == music.people["Ada"])
    )
    outbox.send()
    mailbox.clear()
    clock.set(slot.start - timedelta(minutes=30))
    report = run_beat(app, clock)
    outbox.send()

    assert 'name="lesson_reminders"' in page and "checked" in page.split("data-reminders")[1]
    assert turned_off.status_code == 302 and choice is False
    assert report.queued == 0
    assert report.notes == {
        "the student turned reminders off": 1,
        "a closer reminder of this lesson was due too": 1,
    }
    assert [r[1] for r in reminder_rows(owner, seat)] == ["skipped", "skipped"]
    assert reminder_mails(mailbox, ADA) == []


def test_instructors_cannot_choose_lesson_reminders(visit):
    response = visit("musicschool", "clara@musicschool.demo").post("/bookings/reminders", data={})

    assert response.status_code == 400
    assert b"Only students receive lesson reminders" in response.data


def test_admin_changes_the_schools_reminder_hours_and_pending_ones_are_replanned(
    visit, music, free_slots, owner, org_ids
):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    seat = book(visit, music, slot, ADA)
    admin = visit("musicschool", "grace@musicschool.demo")
    url = f"/schoolsettingsview/edit/{org_ids['musicschool']}"
    settings = {
        "name": "Riverside Music School",
        "time_zone": "America/New_York",
        "time_format": "12h",
    }

    refused = admin.post(url, data={**settings, "reminder_hours": "soon"})
    unchanged = reminder_rows(owner, seat)
    accepted = admin.post(url, data={**settings, "reminder_hours": "48, 2"})
    replanned = reminder_rows(owner, seat)
    admin.post(url, data={**settings, "reminder_hours": "24, 1"})

    assert refused.status_code == 422
    assert "is not a number of hours" in refused.data.decode()
    assert [r[0] for r in unchanged] == [1440, 60]
    assert accepted.status_code == 302
    assert replanned == [(2880, "pending", slot.start), (120, "pending", slot.start)]
    assert reminder_rows(owner, seat)[0][0] == 1440


def test_an_appointment_types_own_hours_override_the_schools(app, music):
    from app.models import AppointmentType

    with app.app_context(), privileged():
        school = db.session.get(Organization, music.id)
        piano = db.session.get(AppointmentType, music.types[PIANO_30])
        default = reminders.minutes_before(school, piano)
        piano.reminder_hours = "3"
        own = reminders.minutes_before(school, piano)
        piano.reminder_hours = "none"
        none = reminders.minutes_before(school, piano)
        db.session.rollback()
        db.session.remove()

    assert (default, own, none) == ([1440, 60], [180], [])


def test_reminder_hours_are_read_or_refused_with_a_sentence():
    assert reminders.parse_hours("24, 1") == [1440, 60]
    assert reminders.parse_hours("1.5h 48") == [2880, 90]
    assert reminders.parse_hours("") is None
    assert reminders.parse_hours("None") == []
    for bad, words in (("soon", "not a number"), ("0", None), ("999", "up to 336 hours")):
        if words is None:
            assert reminders.parse_hours(bad) == []
            continue
        try:
            reminders.parse_hours(bad)
        except reminders.ReminderHoursProblem as problem:
            assert words in str(problem)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def _wait_until(condition, seconds: float = 20) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


_ = (Notification, QUEUE)
