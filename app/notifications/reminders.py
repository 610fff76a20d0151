"""Lesson reminders: planned with the booking, claimed once when due, sent through the outbox.

- How long before a lesson: the school's ``reminder_hours`` ("24, 1"), or the appointment
  type's own (``"none"``: no reminders for that type). ``parse_hours`` reads both.
- Planning: the booking service calls ``plan`` in the transaction that books or moves a
  seat (one ``BookingReminder`` row per seat × offset × lesson start, only those still in
  the future) and ``cancel`` in the one that cancels or moves it, so a cancelled or moved
  lesson never gets a stale reminder and a moved one gets reminders for its new time.
  Changing the school's or a type's hours re-plans the pending reminders (``replan``).
- Sending: Celery beat runs ``queue_due`` every minute. It claims due rows in batches with
  ``FOR UPDATE SKIP LOCKED`` and a conditional status change (``pending`` → ``queued``),
  and writes each reminder's e-mail to the outbox in the same transaction: two beats at
  once never claim one row twice, and a beat that dies before its commit leaves the rows
  pending for the next. A beat that was down catches up: a due reminder is still sent if
  its lesson has not started, unless a closer reminder of the same lesson is due too.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    AppointmentType,
    Booking,
    BookingAttendee,
    BookingReminder,
    BookingStatus,
    Membership,
    Organization,
    ReminderStatus,
)

log = logging.getLogger(__name__)

PENDING = ReminderStatus.PENDING.value
QUEUED = ReminderStatus.QUEUED.value
SKIPPED = ReminderStatus.SKIPPED.value
CANCELLED = ReminderStatus.CANCELLED.value
CONFIRMED = BookingStatus.CONFIRMED.value
NO_REMINDERS = {"none", "no", "off", "0", "-"}
MAX_HOURS_BEFORE = 24 * 14


class ReminderHoursProblem(ValueError):
    """Reminder hours that cannot be read ("24, 1" is the form), in words for the admin."""


def parse_hours(text: str | None) -> list[int] | None:
    """``"24, 1"`` → ``[1440, 60]`` (minutes, largest first); ``"none"`` → ``[]``; empty →
    ``None`` (not set). Raises ``ReminderHoursProblem`` with a sentence for the form."""
    if text is None or not text.strip():
        return None
    if text.strip().lower() in NO_REMINDERS:
        return []
    minutes = set()
    for part in re.split(r"[,;\s]+", text.strip()):
        if not part:
            continue
        number = part.lower().removesuffix("hours").removesuffix("h").strip()
        try:
            hours = float(number)
        except ValueError:
            raise ReminderHoursProblem(
                f"“{part}” is not a number of hours. Write e.g. “24, 1”, or “none”."
            ) from None
        if not 0 < hours <= MAX_HOURS_BEFORE:
            raise ReminderHoursProblem(
                f"Reminders can be sent from a few minutes up to {MAX_HOURS_BEFORE} hours "
                "before a lesson."
            )
        minutes.add(max(1, round(hours * 60)))
    if len(minutes) > 5:
        raise ReminderHoursProblem("At most five reminders per lesson.")
    return sorted(minutes, reverse=True)


def minutes_before(organization: Organization, appointment_type: AppointmentType) -> list[int]:
    """The offsets that apply to a lesson of this type (the type's own, else the school's)."""
    own = _safe_parse(appointment_type.reminder_hours)
    return own if own is not None else (_safe_parse(organization.reminder_hours) or [])


def _safe_parse(text: str | None) -> list[int] | None:
    try:
        return parse_hours(text)
    except ReminderHoursProblem:
        log.warning("Ignoring unreadable reminder hours %r", text)
        return None


# --- planning, in the booking's transaction ---------------------------------------------------


def cancel(attendee_ids: Iterable[int], now: datetime, note: str) -> None:
    """The seats were cancelled or moved: their pending reminders will never be sent."""
    ids = list(attendee_ids)
    if not ids:
        return
    db.session.execute(
        sa.update(BookingReminder)
        .where(BookingReminder.attendee_id.in_(ids), BookingReminder.status == PENDING)
        .values(status=CANCELLED, decided_at=now, note=note)
    )


def plan(attendees: Sequence[BookingAttendee], now: datetime) -> None:
    """Reminder rows for these confirmed seats at their lessons' current times."""
    if not attendees:
        return
    organization = db.session.get(Organization, attendees[0].organization_id)
    rows = []
    for attendee in attendees:
        booking = attendee.booking
        for minutes in minutes_before(organization, booking.appointment_type):
            due = booking.starts_at - timedelta(minutes=minutes)
            if due > now:
                rows.append(
                    {
                        "organization_id": attendee.organization_id,
                        "attendee_id": attendee.id,
                        "minutes_before": minutes,
                        "lesson_starts_at": booking.starts_at,
                        "due_at": due,
                        "status": PENDING,
                    }
                )
    if rows:
        _insert(rows)


def _insert(rows: list[dict]) -> None:
    statement = insert(BookingReminder).values(rows)
    # Moved back to a time it had before: the cancelled row comes back to life.
    db.session.execute(
        statement.on_conflict_do_update(
            constraint="uq_booking_reminders_seat_offset_start",
            set_={
                "status": PENDING,
                "due_at": statement.excluded.due_at,
                "decided_at": None,
                "note": None,
            },
            where=BookingReminder.status == CANCELLED,
        )
    )


def replan(organization_id: int, now: datetime) -> int:
    """The school's or a type's reminder hours changed: re-plan every pending reminder of
    the school's future lessons (those already sent or skipped stay as they are)."""
    db.session.execute(
        sa.delete(BookingReminder).where(
            BookingReminder.organization_id == organization_id,
            BookingReminder.status == PENDING,
        )
    )
    attendees = list(
        db.session.scalars(
            sa.select(BookingAttendee)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .where(
                BookingAttendee.organization_id == organization_id,
                BookingAttendee.status == CONFIRMED,
                Booking.status == CONFIRMED,
                Booking.starts_at > now,
            )
            .options(selectinload(BookingAttendee.booking).selectinload(Booking.appointment_type))
        )
    )
    before = len(attendees)
    if attendees:
        already = set(
            db.session.execute(
                sa.select(
                    BookingReminder.attendee_id,
                    BookingReminder.minutes_before,
                    BookingReminder.lesson_starts_at,
                ).where(
                    BookingReminder.organization_id == organization_id,
                    BookingReminder.status.in_([QUEUED, SKIPPED]),
                )
            ).all()
        )
        organization = db.session.get(Organization, organization_id)
        rows = []
        for attendee in attendees:
            booking = attendee.booking
            for minutes in minutes_before(organization, booking.appointment_type):
                due = booking.starts_at - timedelta(minutes=minutes)
                key = (attendee.id, minutes, booking.starts_at)
                if due > now and key not in already:
                    rows.append(
                        {
                            "organization_id": organization_id,
                            "attendee_id": attendee.id,
                            "minutes_before": minutes,
                            "lesson_starts_at": booking.starts_at,
                            "due_at": due,
                            "status": PENDING,
                        }
                    )
        for start in range(0, len(rows), 1000):
            _insert(rows[start : start + 1000])
    return before


def valid_reminder_hours(form, field) -> None:
    """WTForms validator for the admin panels' reminder hours."""
    from wtforms.validators import ValidationError

    try:
        parse_hours(field.data)
    except ReminderHoursProblem as problem:
        raise ValidationError(str(problem)) from None


def set_preference(student: Membership, lesson_reminders: bool) -> None:
    """A student turns lesson reminders on or off (checked when each one is due)."""
    student.lesson_reminders = lesson_reminders
    db.session.commit()


def settings_changed(organization_id: int) -> None:
    """After an admin changed reminder hours: re-plan the school's pending reminders."""
    from app import clock

    replan(organization_id, clock.now())
    db.session.commit()


# --- the beat ---------------------------------------------------------------------------------


@dataclass
class BeatReport:
    queued: int = 0
    skipped: int = 0
    cancelled: int = 0
    notes: dict[str, int] = field(default_factory=dict)

    def count(self, note: str) -> None:
        self.notes[note] = self.notes.get(note, 0) + 1


def claim_due(now: datetime, limit: int) -> list[BookingReminder]:
    """Take up to ``limit`` due reminders nobody else holds; they are ``queued`` from here."""
    due = (
        sa.select(BookingReminder.id)
        .where(BookingReminder.status == PENDING, BookingReminder.due_at <= now)
        .order_by(BookingReminder.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    ids = db.session.scalars(
        sa.update(BookingReminder)
        .where(BookingReminder.id == due.c.id, BookingReminder.status == PENDING)
        .values(status=QUEUED, decided_at=now)
        .returning(BookingReminder.id)
    ).all()
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(BookingReminder)
            .where(BookingReminder.id.in_(ids))
            .options(
                selectinload(BookingReminder.attendee).options(
                    selectinload(BookingAttendee.booking).options(
                        selectinload(Booking.appointment_type),
                        selectinload(Booking.instructor).joinedload(Membership.user),
                        selectinload(Booking.location),
                    ),
                    selectinload(BookingAttendee.student).joinedload(Membership.user),
                )
            )
            .execution_options(populate_existing=True)
        )
    )


def _closer_ones_due(reminders: list[BookingReminder], now: datetime) -> set[tuple[int, int]]:
    """(attendee, minutes) of reminders for which a closer reminder of the same lesson is
    due as well (claimed here or by another beat): only the closest is worth sending."""
    attendee_ids = {r.attendee_id for r in reminders}
    rows = db.session.execute(
        sa.select(
            BookingReminder.attendee_id,
            BookingReminder.minutes_before,
            BookingReminder.lesson_starts_at,
        ).where(
            BookingReminder.attendee_id.in_(attendee_ids),
            BookingReminder.due_at <= now,
            BookingReminder.status != CANCELLED,
        )
    ).all()
    closest: dict[tuple[int, datetime], int] = {}
    for attendee_id, minutes, start in rows:
        key = (attendee_id, start)
        closest[key] = min(closest.get(key, minutes), minutes)
    return {
        (r.attendee_id, r.minutes_before)
        for r in reminders
        if closest.get((r.attendee_id, r.lesson_starts_at), r.minutes_before) < r.minutes_before
    }


def _decide(reminder: BookingReminder, superseded: set, now: datetime) -> str | None:
    """Why this claimed reminder is not sent (None: send it)."""
    attendee = reminder.attendee
    booking = attendee.booking
    if not (attendee.status == CONFIRMED and booking.status == CONFIRMED):
        return "cancelled: the booking was cancelled"
    if booking.starts_at != reminder.lesson_starts_at:
        return "cancelled: the lesson was moved"
    if reminder.lesson_starts_at <= now:
        return "skipped: the lesson had already started"
    if (reminder.attendee_id, reminder.minutes_before) in superseded:
        return "skipped: a closer reminder of this lesson was due too"
    if not attendee.student.lesson_reminders:
        return "skipped: the student turned reminders off"
    return None


def queue_batch(now: datetime, limit: int, report: BeatReport) -> int:
    """One transaction: claim, decide, write the e-mails; the number of rows claimed."""
    from app.notifications.booking import queue_booking_emails

    reminders = claim_due(now, limit)
    if not reminders:
        db.session.commit()
        return 0
    superseded = _closer_ones_due(reminders, now)
    schools = {
        school.id: school
        for school in db.session.scalars(
            sa.select(Organization).where(
                Organization.id.in_({r.organization_id for r in reminders})
            )
        )
    }
    sending = []
    with db.session.no_autoflush:  # one flush for the whole batch, not one per e-mail
        for reminder in reminders:
            reason = _decide(reminder, superseded, now)
            if reason is None:
                emails = queue_booking_emails(
                    "reminder", [reminder.attendee], organization=schools[reminder.organization_id]
                )
                sending.append((reminder, emails[0]))
                report.queued += 1
                continue
            status, note = reason.split(": ", 1)
            reminder.status = CANCELLED if status == "cancelled" else SKIPPED
            reminder.note = note
            report.count(note)
            if status == "cancelled":
                report.cancelled += 1
            else:
                report.skipped += 1
    db.session.flush()
    for reminder, notification in sending:
        reminder.notification_id = notification.id
    db.session.commit()
    return len(reminders)


def queue_due(now: datetime, *, batch: int = 200, budget_s: float = 50.0) -> BeatReport:
    """Beat: claim and queue every due reminder, batch by batch, within ``budget_s``."""
    report = BeatReport()
    started = time.monotonic()
    while time.monotonic() - started < budget_s:
        if queue_batch(now, batch, report) < batch:
            break
    return report
