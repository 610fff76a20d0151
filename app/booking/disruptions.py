"""Changes that hit booked lessons: time off, school closures, weekly hours, date overrides.

One service for the admin panels and the teaching portal. Saving such a change first finds
the confirmed future lessons it hits; the person saving decides for each one (cancel with a
message, move to a real free time, or keep it deliberately), and only then is the change
saved, together with every cancellation and move, in one transaction — or nothing is.

A lesson is *hit* when the scheduling core would still have accepted it before the change
and refuses it after (``check_booking`` with the lesson itself excluded and "now" chosen so
notice and advance limits do not matter). The proposed row is flushed inside the transaction
to ask the core; a preview is rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app import clock
from app.booking import service
from app.booking.schedule_data import appointment_type_spec, load_calendar, local_midnight
from app.extensions import db
from app.models import (
    Booking,
    BookingAttendee,
    BookingChange,
    ChangeAction,
    HoursOverride,
    LocationMode,
    Membership,
    MembershipRole,
    SchoolClosure,
    TimeOff,
    WorkingHours,
)
from app.scheduling import Refusal, check_booking
from app.school_time import shown_moment

CANCEL, MOVE, KEEP = "cancel", "move", "keep"
FIELD_PREFIX = "lesson-"  # form field per hit lesson: "lesson-<attendee id>"
MESSAGE_FIELD = "lessons-message"
MAX_MESSAGE = 500
MOVE_DAYS_BEFORE, MOVE_DAYS_AFTER, MAX_MOVE_OPTIONS = 3, 14, 40
KEPT_PREFIX = "Kept on purpose"  # the history line of a lesson kept deliberately
Change = TimeOff | SchoolClosure | WorkingHours | HoursOverride


@dataclass(frozen=True)
class MoveOption:
    value: str  # the start, ISO 8601 in UTC
    label: str  # in the school's zone with its label


@dataclass(frozen=True)
class HitLesson:
    """A confirmed lesson (one student's seat) the change would leave unbookable."""

    attendee_id: int
    when: str
    student: str
    instructor: str
    type_name: str
    reason: str
    moves: tuple[MoveOption, ...] = ()


@dataclass(frozen=True)
class Decision:
    action: str  # CANCEL, MOVE or KEEP
    new_start: datetime | None = None


@dataclass
class Outcome:
    cancelled: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)

    def in_words(self) -> str:
        parts = [
            f"{len(ids)} lesson{'s' if len(ids) != 1 else ''} {verb}"
            for ids, verb in (
                (self.cancelled, "cancelled (the students are told)"),
                (self.moved, "moved (the students are told)"),
                (self.kept, "kept"),
            )
            if ids
        ]
        return "; ".join(parts) + "." if parts else ""


class LessonsHit(ValueError):
    """The change hits lessons nobody has decided about yet. Nothing was saved."""

    def __init__(self, hits: list[HitLesson], message: str | None = None):
        count = len(hits)
        super().__init__(
            message
            or f"This change hits {count} booked lesson{'s' if count != 1 else ''}. "
            "Choose what happens to each one below, then save again. Nothing was saved yet."
        )
        self.hits = hits


class DecisionProblem(ValueError):
    """The decisions could not be carried out (unreadable, not this change's lessons, or a
    move that lost a race). Nothing was saved."""


# --- reading the decisions from a form ---------------------------------------------------------


def decisions_from_form(form: Mapping) -> tuple[dict[int, Decision], str | None]:
    """``lesson-<id>`` = cancel | keep | move:<ISO start>, and the message to the students.
    An empty choice is no decision (the form asks again)."""
    decisions: dict[int, Decision] = {}
    for key in form:
        if not key.startswith(FIELD_PREFIX):
            continue
        value = (form.get(key) or "").strip()
        if not value:
            continue
        try:
            attendee_id = int(key[len(FIELD_PREFIX) :])
        except ValueError:
            raise DecisionProblem(
                "A choice for a lesson could not be read; choose again."
            ) from None
        decisions[attendee_id] = _decision(value)
    message = (form.get(MESSAGE_FIELD) or "").strip() or None
    if message and len(message) > MAX_MESSAGE:
        raise DecisionProblem(f"The message to the students is too long (at most {MAX_MESSAGE}).")
    return decisions, message


def _decision(value: str) -> Decision:
    if value in (CANCEL, KEEP):
        return Decision(value)
    if value.startswith(MOVE + ":"):
        try:
            start = datetime.fromisoformat(value[len(MOVE) + 1 :])
        except ValueError:
            start = None
        if start is not None and start.tzinfo is not None:
            return Decision(MOVE, start)
    raise DecisionProblem("A choice for a lesson could not be read; choose again.")


# --- the service -------------------------------------------------------------------------------


def save_change(
    row: Change,
    *,
    actor: Membership,
    decisions: Mapping[int, Decision] | None = None,
    message: str | None = None,
) -> Outcome:
    """Save a new or edited time off / closure / hours row with what happens to the lessons
    it hits, in one transaction. Raises LessonsHit (with the choices) while a hit lesson has
    no decision, DecisionProblem when the decisions cannot be carried out; nothing is saved
    in either case."""
    return save_changes([row], [], actor=actor, decisions=decisions, message=message)


def save_changes(
    saved: list[Change],
    removed: list[Change],
    *,
    actor: Membership,
    decisions: Mapping[int, Decision] | None = None,
    message: str | None = None,
) -> Outcome:
    """``save_change`` for several rows at once (a whole week of hours): rows to add or
    update and rows to remove, judged together, saved together."""
    decisions = dict(decisions or {})
    organization_id = actor.organization_id
    for row in saved:
        row.organization_id = organization_id
    instructor_away = actor.role == MembershipRole.INSTRUCTOR
    with db.session.no_autoflush:
        locks = _instructors_in_scope([*saved, *removed], organization_id)
        locks += _students_of(decisions)
    outcome = Outcome()
    with service.changes_together(*locks):
        hit = _hit_attendees(saved, removed)
        hit_ids = {attendee.id for attendee, _ in hit}
        if set(decisions) - hit_ids:
            raise DecisionProblem(
                "Some of the chosen lessons are not affected by this change (or are not this "
                "school's); nothing was saved. Please look at the list again."
            )
        if hit_ids - set(decisions):
            hits = _describe(hit)
            raise LessonsHit(
                hits,
                None
                if not decisions
                else "A lesson still needs a choice (or one was booked meanwhile): choose what "
                "happens to each lesson below. Nothing was saved yet.",
            )
        first = (saved or removed)[0]
        reason = message or _default_reason(first)
        by_id = {attendee.id: attendee for attendee, _ in hit}
        for attendee_id in sorted(hit_ids, key=lambda i: decisions[i].action != CANCEL):
            decision = decisions[attendee_id]
            attendee = by_id[attendee_id]
            label = _lesson_label(attendee)
            try:
                if decision.action == CANCEL:
                    service.cancel_booking(
                        attendee_id, actor=actor, reason=reason, instructor_away=instructor_away
                    )
                    outcome.cancelled.append(attendee_id)
                elif decision.action == MOVE:
                    service.reschedule_booking(
                        attendee_id,
                        actor=actor,
                        new_start=decision.new_start,
                        instructor_away=instructor_away,
                    )
                    outcome.moved.append(attendee_id)
                else:
                    _record_kept(attendee, actor, first)
                    outcome.kept.append(attendee_id)
            except service.BookingProblem as problem:
                raise DecisionProblem(
                    f"{label}: {problem.message} Nothing was saved; please choose again."
                ) from problem
    return outcome


def preview(row: Change, *, actor: Membership) -> list[HitLesson]:
    """The lessons the change would hit, with their move options. Writes nothing."""
    row.organization_id = actor.organization_id
    try:
        return _describe(_hit_attendees([row], []))
    finally:
        db.session.rollback()


def refuse_removal_if_hits(*rows: WorkingHours | HoursOverride) -> None:
    """Removing hours can leave lessons outside them: refuse, naming the lessons (rows
    removed together are judged together)."""
    try:
        labels = [_lesson_label(a) for a, _ in _hit_attendees([], list(rows))]
    finally:
        db.session.rollback()
    if labels:
        raise ValueError(
            "Not removed: these hours cover booked lessons ("
            + "; ".join(labels)
            + "). Edit the hours instead to decide what happens to each lesson, or cancel or "
            "move them first."
        )


# --- finding the hits --------------------------------------------------------------------------


def _hit_attendees(saved: list[Change], removed: list[Change]) -> list[tuple[BookingAttendee, str]]:
    """Flush the rows and compare the core's answer for each lesson before and after."""
    with db.session.no_autoflush:
        seen: dict[int, BookingAttendee] = {}
        for row in [*saved, *removed]:
            seen.update((a.id, a) for a in _lessons(row))
        lessons = sorted(seen.values(), key=lambda a: (a.booking.starts_at, a.id))
        before = _refusals(lessons)
    for row in saved:
        if row.id is None:
            db.session.add(row)
    for row in removed:
        db.session.delete(row)
    db.session.flush()
    after = _refusals(lessons)
    return [(a, after[a.id]) for a in lessons if after[a.id] and after[a.id] != before[a.id]]


def _values(row, attribute: str) -> set:
    """The row's value and, for an edited row, the one the database still holds."""
    history = sa.inspect(row).attrs[attribute].history
    values = {getattr(row, attribute), *history.deleted, *history.unchanged}
    return {v for v in values if v is not None}


def _instructor_ids(row) -> set[int]:
    ids = _values(row, "instructor_id")
    if getattr(row, "instructor", None) is not None and row.instructor.id is not None:
        ids.add(row.instructor.id)
    return ids


def _scope(row: Change) -> tuple[set[int] | None, date | None, date | None, set[int] | None]:
    """Instructors (None: all), first and last local day (None: from now on), weekdays."""
    if isinstance(row, SchoolClosure | TimeOff):
        days = _values(row, "first_day") | _values(row, "last_day")
        instructors = None if isinstance(row, SchoolClosure) else _instructor_ids(row)
        return instructors, min(days, default=None), max(days, default=None), None
    if isinstance(row, HoursOverride):
        days = _values(row, "day")
        return _instructor_ids(row), min(days, default=None), max(days, default=None), None
    return _instructor_ids(row), None, None, _values(row, "weekday")


def _lessons(row: Change) -> list[BookingAttendee]:
    instructors, first_day, last_day, weekdays = _scope(row)
    organization_id = row.organization_id
    zone = ZoneInfo(service.school().time_zone)
    query = (
        sa.select(BookingAttendee)
        .join(Booking, Booking.id == BookingAttendee.booking_id)
        .where(
            BookingAttendee.organization_id == organization_id,
            BookingAttendee.status == service.CONFIRMED,
            Booking.status == service.CONFIRMED,
            Booking.starts_at >= clock.now(),
        )
        .order_by(Booking.starts_at, BookingAttendee.id)
    )
    if instructors is not None:
        query = query.where(Booking.instructor_id.in_(sorted(instructors)))
    if first_day is not None:
        query = query.where(
            Booking.starts_at >= local_midnight(first_day - timedelta(days=1), zone),
            Booking.starts_at < local_midnight(last_day + timedelta(days=2), zone),
        )
    lessons = list(db.session.scalars(query))
    if weekdays is not None:
        lessons = [a for a in lessons if a.booking.starts_at.astimezone(zone).weekday() in weekdays]
    return lessons


def _refusals(lessons: list[BookingAttendee]) -> dict[int, str | None]:
    """For each seat: why the core would refuse its lesson now (None: still bookable)."""
    if not lessons:
        return {}
    organization = service.school()
    zone = ZoneInfo(organization.time_zone)
    days = [a.booking.starts_at.astimezone(zone).date() for a in lessons]
    calendar = load_calendar(
        organization.id,
        organization.time_zone,
        min(days) - timedelta(days=1),
        max(days) + timedelta(days=2),
        instructor_ids={a.booking.instructor_id for a in lessons},
    )
    specs: dict[int, object] = {}
    answers: dict[int, str | None] = {}
    for attendee in lessons:
        booking = attendee.booking
        spec = specs.get(booking.appointment_type_id)
        if spec is None:
            spec = specs[booking.appointment_type_id] = appointment_type_spec(
                booking.appointment_type
            )
        refusal = check_booking(
            spec,
            calendar,
            start=booking.starts_at,
            instructor_id=booking.instructor_id,
            location_mode=LocationMode(booking.location_mode),
            location_id=booking.location_id,
            # As if booked just in time: notice and advance limits are not the question.
            now=booking.starts_at - timedelta(hours=spec.min_notice_hours),
            exclude_booking_ids=[booking.id],
        )
        answers[attendee.id] = refusal.value if refusal is not None else None
    return answers


def _instructors_in_scope(rows: list[Change], organization_id: int) -> list[int]:
    scopes = [_scope(row)[0] for row in rows]
    if all(instructors is not None for instructors in scopes):
        return sorted(set().union(*scopes))
    return list(
        db.session.scalars(
            sa.select(Membership.id).where(
                Membership.organization_id == organization_id,
                Membership.role == MembershipRole.INSTRUCTOR,
            )
        )
    )


def _students_of(decisions: Mapping[int, Decision]) -> list[int]:
    if not decisions:
        return []
    return list(
        db.session.scalars(
            sa.select(BookingAttendee.student_id).where(
                BookingAttendee.organization_id == service.school().id,
                BookingAttendee.id.in_(sorted(decisions)),
            )
        )
    )


# --- describing them ---------------------------------------------------------------------------


def _local(moment: datetime) -> str:
    return shown_moment(moment, service.school().time_zone)


def _lesson_label(attendee: BookingAttendee) -> str:
    booking = attendee.booking
    return f"{_local(booking.starts_at)}, {attendee.student.full_name}"


def _move_options(attendee: BookingAttendee) -> tuple[MoveOption, ...]:
    zone = ZoneInfo(service.school().time_zone)
    now = clock.now()
    day = attendee.booking.starts_at.astimezone(zone).date()
    first = max(day - timedelta(days=MOVE_DAYS_BEFORE), now.astimezone(zone).date())
    slots = service.reschedule_slots(
        attendee, first, day + timedelta(days=MOVE_DAYS_AFTER + 1), now=now
    )
    original = attendee.booking.starts_at
    nearest = sorted(slots, key=lambda s: abs(s.start - original))[:MAX_MOVE_OPTIONS]
    return tuple(
        MoveOption(slot.start.isoformat(), _local(slot.start))
        for slot in sorted(nearest, key=lambda s: s.start)
    )


def _describe(hit: list[tuple[BookingAttendee, str]]) -> list[HitLesson]:
    return [
        HitLesson(
            attendee_id=attendee.id,
            when=_local(attendee.booking.starts_at),
            student=attendee.student.full_name,
            instructor=attendee.booking.instructor.full_name,
            type_name=attendee.booking.appointment_type.name,
            reason=reason,
            moves=_move_options(attendee),
        )
        for attendee, reason in hit
    ]


def _default_reason(row: Change) -> str:
    if isinstance(row, SchoolClosure):
        return f"The school is closed ({row.name})."
    name = row.instructor.full_name if row.instructor is not None else "The instructor"
    if isinstance(row, TimeOff):
        return f"{name} is away."
    return f"{name}'s hours have changed."


def _record_kept(attendee: BookingAttendee, actor: Membership, row: Change) -> None:
    """A lesson kept on purpose leaves a trace in its history (and the dashboard reads it)."""
    db.session.add(
        BookingChange(
            organization_id=attendee.organization_id,
            booking_id=attendee.booking_id,
            attendee_id=attendee.id,
            actor_id=actor.id,
            action=ChangeAction.DETAILS_CHANGED.value,
            details=f"{KEPT_PREFIX} despite: {row}",
        )
    )


# --- lessons that need attention (the admin's dashboard) ------------------------------------------

# Refusals that mean "the instructor is not there then", as opposed to the type's own rules.
NOT_THERE = {
    Refusal.OUTSIDE_HOURS.value,
    Refusal.NOT_OFFERED_THEN.value,
    Refusal.INSTRUCTOR_AWAY.value,
    Refusal.SCHOOL_CLOSED.value,
}


@dataclass(frozen=True)
class LessonNeedingAttention:
    attendee_id: int
    when: str
    student: str
    instructor: str
    type_name: str
    reason: str
    kept_on_purpose: bool


def lessons_needing_attention(days_ahead: int = 60) -> list[LessonNeedingAttention]:
    """Confirmed future lessons the instructor is no longer there for (time off, a closure,
    hours that changed), whether or not someone chose to keep them. Writes nothing."""
    now = clock.now()
    lessons = list(
        db.session.scalars(
            sa.select(BookingAttendee)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .where(
                BookingAttendee.organization_id == service.school().id,
                BookingAttendee.status == service.CONFIRMED,
                Booking.status == service.CONFIRMED,
                Booking.starts_at >= now,
                Booking.starts_at < now + timedelta(days=days_ahead),
            )
            .order_by(Booking.starts_at, BookingAttendee.id)
        )
    )
    refusals = _refusals(lessons)
    found = [a for a in lessons if refusals[a.id] in NOT_THERE]
    kept = set(
        db.session.scalars(
            sa.select(BookingChange.attendee_id).where(
                BookingChange.organization_id == service.school().id,
                BookingChange.attendee_id.in_([a.id for a in found]),
                BookingChange.details.startswith(KEPT_PREFIX),
            )
        )
    )
    return [
        LessonNeedingAttention(
            attendee_id=a.id,
            when=_local(a.booking.starts_at),
            student=a.student.full_name,
            instructor=a.booking.instructor.full_name,
            type_name=a.booking.appointment_type.name,
            reason=refusals[a.id],
            kept_on_purpose=a.id in kept,
        )
        for a in found
    ]
