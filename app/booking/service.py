"""Booking, cancelling and rescheduling lessons: the only code that writes bookings.

Every write is one transaction that
1. takes a transaction-level advisory lock per instructor and per student involved, always
   in ascending id order (so two transactions never wait on each other in a circle);
2. reloads what matters from the database *after* the lock and asks the scheduling core
   whether the time is still free (``check_booking``), and whether the student is free;
3. writes the session / seat / history rows and commits.
The exclusion constraints in the schema stay as the last guard: a ``23P01`` (overlap) or
``40P01`` (deadlock) becomes ``SlotTaken``, a 409 "that time was just taken".

Views and the API call these functions and render the result; they never touch a
transaction themselves. E-mails are outbox rows written in the same transaction; a Celery
worker sends them after the commit (see ``app.notifications``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.exc import DBAPIError

from app import clock
from app.booking.schedule_data import appointment_type_spec, load_calendar
from app.extensions import db
from app.models import (
    AppointmentType,
    Booking,
    BookingAttendee,
    BookingChange,
    BookingSeries,
    BookingStatus,
    ChangeAction,
    Location,
    LocationMode,
    Membership,
    MembershipRole,
    Organization,
)
from app.models.booking import occupied_range
from app.notifications import reminders
from app.notifications.booking import queue_booking_emails
from app.scheduling import (
    MAX_SERIES_LESSONS,
    Refusal,
    Slot,
    SlotQuery,
    available_slots,
    check_booking,
    weekly_occurrences,
)
from app.school_time import shown_moment

log = logging.getLogger(__name__)

# pg_advisory_xact_lock(class, key): the class keeps our keys apart from anyone else's.
BOOKING_LOCK_CLASS = 4004
JUST_TAKEN = "Sorry, that time was just taken. Please choose another time."
STUDENT_BUSY = "You already have a lesson at that time."
CLASS_FULL = "Sorry, the last place in that class was just taken."
CONFIRMED = BookingStatus.CONFIRMED.value
CANCELLED = BookingStatus.CANCELLED.value


class BookingProblem(Exception):
    """Why a booking request was refused, in words for the student, with an HTTP status."""

    status_code = 422

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class SlotTaken(BookingProblem):
    status_code = 409

    def __init__(self, message: str, *, clash: tuple[int, int] | None = None):
        super().__init__(message)
        self.clash = clash  # (instructor id, booking id) when the quick check found it


class NotFound(BookingProblem):
    status_code = 404


@dataclass(frozen=True)
class LessonChoice:
    """What the student picked on the booking page (or an admin on their behalf)."""

    appointment_type_id: int
    start: datetime
    location_mode: str
    instructor_id: int | None = None  # None: any qualified instructor
    location_id: int | None = None


@dataclass(frozen=True)
class Occurrence:
    """One week of a recurring series, with the reason it cannot be booked (if any)."""

    start: datetime
    instructor_id: int | None
    problem: str | None = None

    @property
    def bookable(self) -> bool:
        return self.problem is None


# --- looking things up (404 for anything not this school's or not the actor's) -------------


def school() -> Organization:
    from app.tenancy import current_org

    organization = current_org()
    if organization is None:
        raise NotFound("There is no school at this address.")
    return organization


def bookable_type(appointment_type_id: int) -> AppointmentType:
    # get() answers from the session when the view already loaded it; the school is checked
    # here either way (RLS is the second guard).
    found = db.session.get(AppointmentType, appointment_type_id)
    if found is None or found.organization_id != school().id or not found.active:
        raise NotFound("This school does not offer that lesson type.")
    return found


def school_member(membership_id: int, role: MembershipRole, what: str) -> Membership:
    found = db.session.scalar(
        sa.select(Membership).where(
            Membership.organization_id == school().id,
            Membership.id == membership_id,
            Membership.role == role,
            Membership.active.is_(True),
        )
    )
    if found is None:
        raise NotFound(f"That {what} is not part of this school.")
    return found


def visible_attendee(attendee_id: int, actor: Membership) -> BookingAttendee:
    """A seat the actor may see: their own (student), their lesson (instructor), any (admin)."""
    attendee = db.session.scalar(
        sa.select(BookingAttendee).where(
            BookingAttendee.organization_id == school().id, BookingAttendee.id == attendee_id
        )
    )
    if attendee is None or not _may_see(actor, attendee):
        raise NotFound("There is no such booking.")
    return attendee


def _may_see(actor: Membership, attendee: BookingAttendee) -> bool:
    if actor.role == MembershipRole.ADMIN:
        return True
    if actor.role == MembershipRole.STUDENT:
        return attendee.student_id == actor.id
    return attendee.booking.instructor_id == actor.id


def _check_location(choice: LessonChoice) -> None:
    if choice.location_mode not in {m.value for m in LocationMode}:
        raise BookingProblem("Choose in person, online or at your location.")
    if choice.location_id is None:
        return
    exists = db.session.scalar(
        sa.select(Location.id).where(
            Location.organization_id == school().id, Location.id == choice.location_id
        )
    )
    if exists is None:
        raise BookingProblem("That location is not one of this school's.")


def _problem(refusal: Refusal) -> BookingProblem:
    if refusal in (Refusal.TIME_TAKEN, Refusal.CLASS_FULL):
        return SlotTaken(JUST_TAKEN if refusal is Refusal.TIME_TAKEN else CLASS_FULL)
    return BookingProblem(refusal.value)


# --- availability ---------------------------------------------------------------------------


def free_slots(
    appointment_type: AppointmentType,
    date_from_local: date,
    date_to_local: date,
    *,
    instructor_id: int | None = None,
    location_mode: str | None = None,
    location_id: int | None = None,
    exclude_booking_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> list[Slot]:
    """The one way to list bookable times: the booking page, the API and rescheduling use it."""
    organization = school()
    spec = appointment_type_spec(appointment_type)
    calendar = load_calendar(
        organization.id,
        organization.time_zone,
        date_from_local,
        date_to_local,
        instructor_ids=None if instructor_id is None else [instructor_id],
        appointment_type_ids=[appointment_type.id],
    )
    query = SlotQuery(
        spec,
        date_from_local,
        date_to_local,
        instructor_id=instructor_id,
        location_mode=location_mode,
        location_id=location_id,
        exclude_booking_ids=frozenset(exclude_booking_ids),
    )
    return available_slots(query, calendar, now or clock.now())


def first_week_with_free_times(
    appointment_type: AppointmentType, monday: date, **filters
) -> tuple[date, list[Slot]]:
    """The first week from ``monday`` with a free time (within how far ahead the type may be
    booked) and its free times; ``monday``'s week, empty, when there is none."""
    next_monday = monday + timedelta(days=7)
    slots = free_slots(appointment_type, monday, next_monday, **filters)
    if slots:
        return monday, slots
    # Usually the first week has times; otherwise one look at the rest of the window.
    horizon = next_monday + timedelta(days=appointment_type.max_advance_days)
    later = free_slots(appointment_type, next_monday, horizon, **filters)
    if not later:
        return monday, []
    zone = ZoneInfo(school().time_zone)
    first_day = later[0].start.astimezone(zone).date()
    week = first_day - timedelta(days=first_day.weekday())
    week_end = week + timedelta(days=7)
    return week, [s for s in later if s.start.astimezone(zone).date() < week_end]


def _candidates(
    appointment_type: AppointmentType, choice: LessonChoice, now: datetime
) -> list[int]:
    """Instructors to try for "any qualified instructor": those offering that exact slot,
    emptiest group session first."""
    day = choice.start.astimezone(ZoneInfo(school().time_zone)).date()
    for slot in free_slots(
        appointment_type,
        day,
        day + timedelta(days=1),
        location_mode=choice.location_mode,
        location_id=choice.location_id,
        now=now,
    ):
        if slot.start == choice.start:
            # Fill sessions that already have students before opening a new one.
            ranked = sorted(slot.seats_left_by_instructor, key=lambda pair: (pair[1], pair[0]))
            return [instructor_id for instructor_id, _ in ranked]
    if _offered_but_for_bookings(appointment_type, choice, day, now):
        raise SlotTaken(JUST_TAKEN if appointment_type.capacity == 1 else CLASS_FULL)
    raise BookingProblem(Refusal.NOT_A_START_TIME.value)


def _offered_but_for_bookings(
    appointment_type: AppointmentType, choice: LessonChoice, day: date, now: datetime
) -> bool:
    """Whether the start would be offered if nobody had booked that day: then a student who
    saw it offered lost a race (409), rather than asking for a time never offered (422)."""
    that_day = db.session.scalars(
        sa.select(Booking.id).where(
            Booking.organization_id == appointment_type.organization_id,
            Booking.status == CONFIRMED,
            Booking.starts_at >= choice.start - timedelta(days=1),
            Booking.starts_at < choice.start + timedelta(days=1),
        )
    ).all()
    if not that_day:
        return False
    return any(
        slot.start == choice.start
        for slot in free_slots(
            appointment_type,
            day,
            day + timedelta(days=1),
            location_mode=choice.location_mode,
            location_id=choice.location_id,
            exclude_booking_ids=that_day,
            now=now,
        )
    )


# --- the transaction ----------------------------------------------------------------------------


# Inside ``changes_together`` the service's writes join the caller's one transaction (their
# e-mails too: outbox rows in that transaction).
_together: ContextVar[list | None] = ContextVar("booking_changes_together", default=None)


@contextmanager
def changes_together(*membership_ids: int | None) -> Iterator[None]:
    """Several booking writes (and the caller's own rows) committed as one, or not at all:
    the locks of every instructor and student involved are taken first, in the global order;
    cancel_booking / reschedule_booking called inside do not commit on their own."""
    pending: list = []
    token = _together.set(pending)
    try:
        with _booking_transaction(nested=False):
            _lock(*membership_ids)
            yield
    finally:
        _together.reset(token)


@contextmanager
def _booking_transaction(nested: bool = True) -> Iterator[None]:
    """Commit on success; roll back and translate database conflicts on failure."""
    if nested and _together.get() is not None:
        yield  # the enclosing changes_together commits or rolls back
        return
    try:
        yield
        db.session.commit()
    except DBAPIError as error:
        db.session.rollback()
        conflict = _conflict(error)
        if conflict is None:
            raise
        raise conflict from error
    except BaseException:
        db.session.rollback()
        raise


def _conflict(error: DBAPIError) -> SlotTaken | None:
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate == "23P01":
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", "") or ""
        if "student" in constraint:
            return SlotTaken(STUDENT_BUSY)
        return SlotTaken(JUST_TAKEN)
    if sqlstate == "40P01":
        return SlotTaken(JUST_TAKEN)
    return None


def _lock(*membership_ids: int | None) -> None:
    """Serialise bookings per instructor and per student, in one global order."""
    for key in sorted({i for i in membership_ids if i is not None}):
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(BOOKING_LOCK_CLASS, key)))


def _recheck(
    appointment_type: AppointmentType,
    *,
    start: datetime,
    instructor_id: int,
    location_mode: str,
    location_id: int | None,
    now: datetime,
    exclude_booking_ids: Iterable[int] = (),
) -> None:
    """Under the lock: ask the core again, with what the database holds right now."""
    organization = school()
    day = start.astimezone(ZoneInfo(organization.time_zone)).date()
    calendar = load_calendar(
        organization.id,
        organization.time_zone,
        day - timedelta(days=1),
        day + timedelta(days=2),
        instructor_ids=[instructor_id],
        appointment_type_ids=[appointment_type.id],
    )
    refusal = check_booking(
        appointment_type_spec(appointment_type),
        calendar,
        start=start,
        instructor_id=instructor_id,
        location_mode=LocationMode(location_mode),
        location_id=location_id,
        now=now,
        exclude_booking_ids=exclude_booking_ids,
    )
    if refusal is not None:
        raise _problem(refusal)


def _refuse_if_instructor_busy(
    appointment_type: AppointmentType,
    instructor_id: int,
    start: datetime,
    exclude_booking_id: int | None = None,
) -> None:
    """Under the lock, the quick answer when a race is lost: for a private lesson, a confirmed
    session already occupies this time (buffers included: the exclusion constraint's test);
    for a group class, the session at this time is full. The many who lose a race for one
    slot are answered with one query; everyone else goes on to the core's full check."""
    if appointment_type.capacity > 1:
        full = db.session.scalar(
            sa.select(Booking.id)
            .where(
                Booking.organization_id == appointment_type.organization_id,
                Booking.instructor_id == instructor_id,
                Booking.status == CONFIRMED,
                Booking.appointment_type_id == appointment_type.id,
                Booking.starts_at == start,
                Booking.seats_taken >= Booking.capacity,
            )
            .limit(1)
        )
        if full is not None:
            raise SlotTaken(CLASS_FULL, clash=(instructor_id, full))
        return
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    wanted = occupied_range(
        start, end, appointment_type.buffer_before_minutes, appointment_type.buffer_after_minutes
    )
    taken = db.session.scalar(
        sa.select(Booking.id)
        .where(
            Booking.organization_id == appointment_type.organization_id,
            Booking.instructor_id == instructor_id,
            Booking.status == CONFIRMED,
            Booking.occupied.overlaps(wanted),
            Booking.id != (exclude_booking_id or 0),
        )
        .limit(1)
    )
    if taken is not None:
        raise SlotTaken(JUST_TAKEN, clash=(instructor_id, taken))


def _refuse_student_clash(
    student_id: int, start: datetime, end: datetime, ignore_attendee_id: int | None = None
) -> None:
    clash = db.session.scalar(
        sa.select(BookingAttendee.id)
        .where(
            BookingAttendee.organization_id == school().id,
            BookingAttendee.student_id == student_id,
            BookingAttendee.status == CONFIRMED,
            BookingAttendee.during.overlaps(Range(start, end, bounds="[)")),
            BookingAttendee.id != (ignore_attendee_id or 0),
        )
        .limit(1)
    )
    if clash is not None:
        raise SlotTaken(STUDENT_BUSY)


def _take_seat(
    appointment_type: AppointmentType,
    *,
    start: datetime,
    instructor_id: int,
    location_mode: str,
    location_id: int | None,
    address: str | None,
    actor: Membership,
) -> Booking:
    """The session this seat belongs to: an open group session, or a new one."""
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    if appointment_type.capacity > 1:
        open_session = db.session.scalar(
            sa.select(Booking.id).where(
                Booking.organization_id == appointment_type.organization_id,
                Booking.instructor_id == instructor_id,
                Booking.appointment_type_id == appointment_type.id,
                Booking.starts_at == start,
                Booking.location_mode == location_mode,
                Booking.location_id.is_(None)
                if location_id is None
                else Booking.location_id == location_id,
                Booking.status == CONFIRMED,
            )
        )
        if open_session is not None:
            # A conditional update, never count-then-insert: no row means no seat left.
            seated = db.session.scalar(
                sa.update(Booking)
                .where(
                    Booking.id == open_session,
                    Booking.status == CONFIRMED,
                    Booking.seats_taken < Booking.capacity,
                )
                .values(seats_taken=Booking.seats_taken + 1)
                .returning(Booking.id)
            )
            if seated is None:
                raise SlotTaken(CLASS_FULL)
            booking = db.session.get(Booking, open_session)
            db.session.refresh(booking)
            return booking
    booking = Booking(
        organization_id=appointment_type.organization_id,
        appointment_type_id=appointment_type.id,
        instructor_id=instructor_id,
        buffer_before_minutes=appointment_type.buffer_before_minutes,
        buffer_after_minutes=appointment_type.buffer_after_minutes,
        location_mode=location_mode,
        location_id=location_id if location_mode == LocationMode.IN_PERSON.value else None,
        address=address if location_mode == LocationMode.AT_HOME.value else None,
        meeting_link=_meeting_link(appointment_type, instructor_id, location_mode),
        capacity=appointment_type.capacity,
        seats_taken=1,
        status=CONFIRMED,
        created_by_id=actor.id,
    )
    booking.set_times(start, end)
    db.session.add(booking)
    db.session.flush()
    return booking


def _meeting_link(
    appointment_type: AppointmentType, instructor_id: int, location_mode: str
) -> str | None:
    """Where an online lesson meets: the type's own room (a class), else the instructor's."""
    if location_mode != LocationMode.ONLINE.value:
        return None
    if appointment_type.meeting_link:
        return appointment_type.meeting_link
    return db.session.scalar(
        sa.select(Membership.meeting_link).where(Membership.id == instructor_id)
    )


def _record(
    booking: Booking,
    attendee: BookingAttendee | None,
    actor: Membership | None,
    action: ChangeAction,
    *,
    from_starts_at: datetime | None = None,
    to_starts_at: datetime | None = None,
    from_instructor_id: int | None = None,
    to_instructor_id: int | None = None,
    details: str | None = None,
) -> None:
    db.session.add(
        BookingChange(
            organization_id=booking.organization_id,
            booking_id=booking.id,
            attendee_id=attendee.id if attendee is not None else None,
            actor_id=actor.id if actor is not None else None,
            action=action.value,
            from_starts_at=from_starts_at,
            to_starts_at=to_starts_at,
            from_instructor_id=from_instructor_id,
            to_instructor_id=to_instructor_id,
            details=details,
        )
    )


def _seat(
    appointment_type: AppointmentType,
    choice: LessonChoice,
    instructor_id: int,
    *,
    student: Membership,
    actor: Membership,
    notes: str | None,
    address: str | None,
    series_id: int | None,
    now: datetime,
) -> BookingAttendee:
    """Check and write one seat; the caller holds the locks and owns the transaction."""
    location_id = choice.location_id if choice.location_mode == LocationMode.IN_PERSON else None
    _refuse_if_instructor_busy(appointment_type, instructor_id, choice.start)
    _recheck(
        appointment_type,
        start=choice.start,
        instructor_id=instructor_id,
        location_mode=choice.location_mode,
        location_id=location_id,
        now=now,
    )
    end = choice.start + timedelta(minutes=appointment_type.duration_minutes)
    _refuse_student_clash(student.id, choice.start, end)
    booking = _take_seat(
        appointment_type,
        start=choice.start,
        instructor_id=instructor_id,
        location_mode=choice.location_mode,
        location_id=location_id,
        address=address,
        actor=actor,
    )
    attendee = BookingAttendee(
        organization_id=booking.organization_id,
        booking_id=booking.id,
        student_id=student.id,
        series_id=series_id,
        during=Range(booking.starts_at, booking.ends_at, bounds="[)"),
        status=CONFIRMED,
        notes=notes or None,
        booked_by_id=actor.id,
    )
    db.session.add(attendee)
    db.session.flush()
    _record(
        booking,
        attendee,
        actor,
        ChangeAction.BOOKED,
        to_starts_at=booking.starts_at,
        to_instructor_id=booking.instructor_id,
        details=None if actor.id == student.id else f"Booked on behalf of {student}",
    )
    return attendee


def _require_address(choice: LessonChoice, address: str | None) -> None:
    if choice.location_mode == LocationMode.AT_HOME.value and not (address or "").strip():
        raise BookingProblem("Please give the address where the lesson should take place.")


# --- booking --------------------------------------------------------------------------------


def book_lesson(
    choice: LessonChoice,
    *,
    student: Membership,
    actor: Membership,
    notes: str | None = None,
    address: str | None = None,
    now: datetime | None = None,
    notify: bool = True,
    student_time_zone: str | None = None,
) -> BookingAttendee:
    """Book one lesson (or a seat in a group class); its e-mails and reminders are written
    in the same transaction. ``student_time_zone``: the zone the student's browser reports
    (kept on their membership when they book for themselves; their e-mails use it)."""
    now = now or clock.now()
    appointment_type, candidates = _prepare(choice, student, now, address=address)
    last_problem: BookingProblem | None = None
    for instructor_id in candidates:
        try:
            with _booking_transaction():
                _lock(instructor_id, student.id)
                attendee = _seat(
                    appointment_type,
                    choice,
                    instructor_id,
                    student=student,
                    actor=actor,
                    notes=notes,
                    address=address,
                    series_id=None,
                    now=now,
                )
                _remember_zone(student, actor, student_time_zone)
                reminders.plan([attendee], now)
                if notify:
                    _notify("booked", [attendee])
        except SlotTaken as problem:
            if problem.message == STUDENT_BUSY:
                raise
            last_problem = problem
            continue
        return attendee
    if last_problem is None:
        raise SlotTaken(JUST_TAKEN)
    raise _explained(last_problem, appointment_type, choice, now)


def _explained(
    problem: SlotTaken, appointment_type: AppointmentType, choice: LessonChoice, now: datetime
) -> BookingProblem:
    """The quick check under the lock says only that a lesson is in the way. Outside the lock,
    ask the core whether the time would be bookable without it: if not (outside the hours,
    say), that is the true answer, not "just taken"."""
    if problem.clash is None:
        return problem
    instructor_id, booking_id = problem.clash
    location_id = choice.location_id if choice.location_mode == LocationMode.IN_PERSON else None
    try:
        _recheck(
            appointment_type,
            start=choice.start,
            instructor_id=instructor_id,
            location_mode=choice.location_mode,
            location_id=location_id,
            now=now,
            exclude_booking_ids=[booking_id],
        )
    except SlotTaken:
        return problem
    except BookingProblem as refusal:
        return refusal
    finally:
        db.session.rollback()
    return problem


def _prepare(
    choice: LessonChoice,
    student: Membership,
    now: datetime,
    *,
    address: str | None,
    check_address: bool = True,
) -> tuple[AppointmentType, list[int]]:
    if choice.start.tzinfo is None:
        raise BookingProblem("That time could not be read; please pick a time from the list.")
    appointment_type = bookable_type(choice.appointment_type_id)
    if student.role != MembershipRole.STUDENT or student.organization_id != school().id:
        raise BookingProblem("Only students of this school can be booked into lessons.")
    _check_location(choice)
    if check_address:
        _require_address(choice, address)
    if choice.start < now:
        raise BookingProblem("That time is in the past.")
    if choice.instructor_id is not None:
        return appointment_type, [choice.instructor_id]
    return appointment_type, _candidates(appointment_type, choice, now)


def preview_series(
    choice: LessonChoice,
    *,
    student: Membership,
    weeks: int | None = None,
    until_local: date | None = None,
    now: datetime | None = None,
) -> list[Occurrence]:
    """Every week of a weekly series, each marked bookable or with its reason. Writes nothing."""
    now = now or clock.now()
    appointment_type, candidates = _prepare(choice, student, now, address=None, check_address=False)
    instructor_id = candidates[0]
    starts = _series_starts(choice.start, weeks, until_local)
    organization = school()
    zone = ZoneInfo(organization.time_zone)
    first_day = starts[0].astimezone(zone).date()
    last_day = starts[-1].astimezone(zone).date()
    calendar = load_calendar(
        organization.id,
        organization.time_zone,
        first_day,
        last_day + timedelta(days=1),
        instructor_ids=[instructor_id],
        appointment_type_ids=[appointment_type.id],
    )
    spec = appointment_type_spec(appointment_type)
    location_id = choice.location_id if choice.location_mode == LocationMode.IN_PERSON else None
    busy = _student_busy(student.id, starts[0], starts[-1] + timedelta(days=1))
    duration = timedelta(minutes=appointment_type.duration_minutes)
    occurrences = []
    for start in starts:
        refusal = check_booking(
            spec,
            calendar,
            start=start,
            instructor_id=instructor_id,
            location_mode=LocationMode(choice.location_mode),
            location_id=location_id,
            now=now,
        )
        problem = refusal.value if refusal is not None else None
        if problem is None and any(s < start + duration and start < e for s, e in busy):
            problem = STUDENT_BUSY
        occurrences.append(Occurrence(start, instructor_id, problem))
    return occurrences


def _series_starts(first: datetime, weeks: int | None, until_local: date | None) -> list[datetime]:
    if weeks is None and until_local is None:
        raise BookingProblem("Say how many weeks, or until which date, the lessons repeat.")
    try:
        return weekly_occurrences(first, school().time_zone, count=weeks, until_local=until_local)
    except ValueError as error:
        raise BookingProblem(_series_message(error, weeks)) from error


def _series_message(error: ValueError, weeks: int | None) -> str:
    text = str(error)
    if "at most" in text or (weeks is not None and not 1 <= weeks <= MAX_SERIES_LESSONS):
        return f"A weekly series can have 1 to {MAX_SERIES_LESSONS} lessons."
    if "before its first lesson" in text:
        return "The end date is before the first lesson."
    return "Please check the number of weeks or the end date."


def _student_busy(
    student_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    rows = db.session.execute(
        sa.select(Booking.starts_at, Booking.ends_at)
        .join(BookingAttendee, BookingAttendee.booking_id == Booking.id)
        .where(
            BookingAttendee.organization_id == school().id,
            BookingAttendee.student_id == student_id,
            BookingAttendee.status == CONFIRMED,
            Booking.starts_at < end,
            Booking.ends_at > start,
        )
    )
    return [(s, e) for s, e in rows]


def book_series(
    choice: LessonChoice,
    *,
    student: Membership,
    actor: Membership,
    accepted_starts: Iterable[datetime],
    weeks: int | None = None,
    until_local: date | None = None,
    notes: str | None = None,
    address: str | None = None,
    now: datetime | None = None,
    notify: bool = True,
    student_time_zone: str | None = None,
) -> list[BookingAttendee]:
    """Book the weeks the student accepted after the preview, all or none."""
    now = now or clock.now()
    appointment_type, candidates = _prepare(choice, student, now, address=address)
    instructor_id = candidates[0]
    offered = set(_series_starts(choice.start, weeks, until_local))
    accepted = sorted(set(accepted_starts))
    if not accepted:
        raise BookingProblem("Choose at least one week to book.")
    if not set(accepted) <= offered:
        raise BookingProblem("Those weeks are not part of this series; please start again.")
    with _booking_transaction():
        _lock(instructor_id, student.id)
        series = BookingSeries(
            organization_id=appointment_type.organization_id,
            student_id=student.id,
            appointment_type_id=appointment_type.id,
            instructor_id=instructor_id,
            first_starts_at=accepted[0],
            weeks=weeks,
            until_day=until_local,
            created_by_id=actor.id,
        )
        db.session.add(series)
        db.session.flush()
        attendees = []
        for start in accepted:
            occurrence = LessonChoice(
                appointment_type.id, start, choice.location_mode, instructor_id, choice.location_id
            )
            try:
                attendees.append(
                    _seat(
                        appointment_type,
                        occurrence,
                        instructor_id,
                        student=student,
                        actor=actor,
                        notes=notes,
                        address=address,
                        series_id=series.id,
                        now=now,
                    )
                )
            except BookingProblem as problem:
                when = _local_label(start)
                raise type(problem)(f"{when}: {problem.message} Nothing was booked.") from problem
        _remember_zone(student, actor, student_time_zone)
        reminders.plan(attendees, now)
        if notify:
            _notify("booked", attendees)
    return attendees


def _local_label(moment: datetime) -> str:
    return shown_moment(moment, school().time_zone, zone_name=False)


# --- cancelling and rescheduling ------------------------------------------------------------


def _require_may_change(
    actor: Membership,
    attendee: BookingAttendee,
    now: datetime,
    verb: str,
    instructor_away: bool = False,
) -> None:
    if not attendee.is_confirmed or not attendee.booking.is_confirmed:
        raise BookingProblem("This booking is already cancelled.", 409)
    if actor.role == MembershipRole.ADMIN:
        return
    if instructor_away and attendee.booking.instructor_id == actor.id:
        return  # an instructor deciding about their own lessons when taking time off
    if actor.role != MembershipRole.STUDENT or attendee.student_id != actor.id:
        raise BookingProblem(f"Only the student or the school can {verb} this booking.", 403)
    booking = attendee.booking
    cutoff = booking.starts_at - timedelta(hours=booking.appointment_type.cancellation_cutoff_hours)
    if now >= cutoff:
        hours = booking.appointment_type.cancellation_cutoff_hours
        raise BookingProblem(
            f"Lessons can be changed online up to {hours} hours before they start; "
            "please contact the school.",
            403,
        )


def _release_seat(
    attendee: BookingAttendee, actor: Membership, reason: str | None, now: datetime
) -> None:
    attendee.status = CANCELLED
    attendee.cancelled_at = now
    attendee.cancelled_by_id = actor.id
    attendee.cancellation_reason = reason or None
    db.session.flush()
    # The last seat of a session frees the instructor's time.
    db.session.execute(
        sa.update(Booking)
        .where(Booking.id == attendee.booking_id)
        .values(
            seats_taken=Booking.seats_taken - 1,
            status=sa.case((Booking.seats_taken <= 1, CANCELLED), else_=Booking.status),
            cancelled_at=sa.case((Booking.seats_taken <= 1, now), else_=Booking.cancelled_at),
            cancelled_by_id=sa.case(
                (Booking.seats_taken <= 1, actor.id), else_=Booking.cancelled_by_id
            ),
            cancellation_reason=sa.case(
                (Booking.seats_taken <= 1, reason), else_=Booking.cancellation_reason
            ),
            # The session's event changed either way (cancelled, or one student fewer):
            # calendar apps take an invitation only with a higher SEQUENCE.
            sequence=Booking.sequence + 1,
        )
    )


def cancel_booking(
    attendee_id: int,
    *,
    actor: Membership,
    reason: str | None = None,
    following: bool = False,
    now: datetime | None = None,
    instructor_away: bool = False,
) -> list[BookingAttendee]:
    """Cancel a seat, or (``following``) it and every later lesson of its weekly series.
    ``instructor_away``: the instructor may cancel their own lesson (app.booking.disruptions)."""
    now = now or clock.now()
    attendee = visible_attendee(attendee_id, actor)
    _require_may_change(actor, attendee, now, "cancel", instructor_away)
    targets = [attendee]
    if following and attendee.series_id is not None:
        targets = list(
            db.session.scalars(
                sa.select(BookingAttendee)
                .join(Booking, Booking.id == BookingAttendee.booking_id)
                .where(
                    BookingAttendee.organization_id == attendee.organization_id,
                    BookingAttendee.series_id == attendee.series_id,
                    BookingAttendee.status == CONFIRMED,
                    Booking.starts_at >= attendee.booking.starts_at,
                )
                .order_by(Booking.starts_at)
            )
        )
    with _booking_transaction():
        _lock(attendee.student_id, *(t.booking.instructor_id for t in targets))
        released = []
        for target in targets:
            db.session.refresh(target)
            if not target.is_confirmed:
                continue
            _release_seat(target, actor, reason, now)
            released.append(target)
            _record(
                target.booking,
                target,
                actor,
                ChangeAction.CANCELLED,
                from_starts_at=target.booking.starts_at,
                from_instructor_id=target.booking.instructor_id,
                details=reason or None,
            )
        reminders.cancel([t.id for t in released], now, "the booking was cancelled")
        _notify("cancelled", released)
    return targets


def cancel_session(
    booking_id: int,
    *,
    actor: Membership,
    reason: str,
    now: datetime | None = None,
) -> list[BookingAttendee]:
    """The instructor or the school calls off a whole lesson or class: every confirmed seat,
    in one transaction, and each student is told. A reason is required: the students read it."""
    now = now or clock.now()
    if not (reason or "").strip():
        raise BookingProblem("Please say why the lesson is cancelled; the students will read it.")
    booking = db.session.scalar(
        sa.select(Booking).where(Booking.organization_id == school().id, Booking.id == booking_id)
    )
    if booking is None or not (
        actor.role == MembershipRole.ADMIN or booking.instructor_id == actor.id
    ):
        raise NotFound("There is no such booking.")
    if not booking.is_confirmed:
        raise BookingProblem("This booking is already cancelled.", 409)
    if booking.ends_at <= now:
        raise BookingProblem("This lesson is over; it can no longer be cancelled.", 409)
    with _booking_transaction():
        seats = list(
            db.session.scalars(
                sa.select(BookingAttendee).where(
                    BookingAttendee.organization_id == booking.organization_id,
                    BookingAttendee.booking_id == booking.id,
                    BookingAttendee.status == CONFIRMED,
                )
            )
        )
        _lock(booking.instructor_id, *(seat.student_id for seat in seats))
        released = []
        for seat in seats:
            db.session.refresh(seat)
            if not seat.is_confirmed:
                continue
            _release_seat(seat, actor, reason.strip(), now)
            _record(
                booking,
                seat,
                actor,
                ChangeAction.CANCELLED,
                from_starts_at=booking.starts_at,
                from_instructor_id=booking.instructor_id,
                details=reason.strip(),
            )
            released.append(seat)
        reminders.cancel([seat.id for seat in released], now, "the lesson was cancelled")
        _notify("cancelled", released)
    return released


def reschedule_slots(
    attendee: BookingAttendee,
    date_from_local: date,
    date_to_local: date,
    now: datetime | None = None,
) -> list[Slot]:
    """Free times this booking could move to: same instructor, type, mode and place; the
    booking itself is not in its own way, its current time is not offered."""
    booking = attendee.booking
    exclude = [booking.id] if booking.seats_taken <= 1 else []
    slots = free_slots(
        booking.appointment_type,
        date_from_local,
        date_to_local,
        instructor_id=booking.instructor_id,
        location_mode=booking.location_mode,
        location_id=booking.location_id,
        exclude_booking_ids=exclude,
        now=now,
    )
    return [slot for slot in slots if slot.start != booking.starts_at]


def reschedule_booking(
    attendee_id: int,
    *,
    actor: Membership,
    new_start: datetime,
    new_instructor_id: int | None = None,
    now: datetime | None = None,
    instructor_away: bool = False,
) -> BookingAttendee:
    """Move a booking atomically: the new time is secured in the same transaction that
    releases the old one, so either both happen or neither does."""
    now = now or clock.now()
    if new_start.tzinfo is None:
        raise BookingProblem("That time could not be read; please pick a time from the list.")
    attendee = visible_attendee(attendee_id, actor)
    _require_may_change(actor, attendee, now, "reschedule", instructor_away)
    old = attendee.booking
    appointment_type = old.appointment_type
    old_start, old_instructor = old.starts_at, old.instructor_id
    if new_instructor_id not in (None, old_instructor) and actor.role != MembershipRole.ADMIN:
        raise BookingProblem("Only the school can move a lesson to another instructor.", 403)
    instructor_id = new_instructor_id or old_instructor
    with _booking_transaction():
        _lock(attendee.student_id, old_instructor, instructor_id)
        db.session.refresh(attendee)
        db.session.refresh(old)
        if not attendee.is_confirmed or not old.is_confirmed:
            raise BookingProblem("This booking is already cancelled.", 409)
        # A session this seat alone fills is freed by the move: not in the way.
        alone = old.seats_taken <= 1
        _recheck(
            appointment_type,
            start=new_start,
            instructor_id=instructor_id,
            location_mode=old.location_mode,
            location_id=old.location_id,
            now=now,
            exclude_booking_ids=[old.id] if alone else [],
        )
        new_end = new_start + timedelta(minutes=appointment_type.duration_minutes)
        _refuse_student_clash(attendee.student_id, new_start, new_end, attendee.id)
        if alone and old.capacity == 1 and appointment_type.capacity == 1:
            # One UPDATE moves the lesson: the constraint checks the new range against
            # everyone else's, and there is never a moment without the booking.
            old.instructor_id = instructor_id
            old.meeting_link = _meeting_link(appointment_type, instructor_id, old.location_mode)
            old.buffer_before_minutes = appointment_type.buffer_before_minutes
            old.buffer_after_minutes = appointment_type.buffer_after_minutes
            old.set_times(new_start, new_end)
            old.sequence = Booking.sequence + 1  # calendar apps take the moved event
            new_session = old
        else:
            _release_seat(attendee, actor, "Rescheduled", now)
            new_session = _take_seat(
                appointment_type,
                start=new_start,
                instructor_id=instructor_id,
                location_mode=old.location_mode,
                location_id=old.location_id,
                address=old.address,
                actor=actor,
            )
            attendee.booking_id = new_session.id
            attendee.status = CONFIRMED
            attendee.cancelled_at = attendee.cancelled_by_id = None
            attendee.cancellation_reason = None
        attendee.during = Range(new_start, new_end, bounds="[)")
        db.session.flush()
        _record(
            new_session,
            attendee,
            actor,
            ChangeAction.RESCHEDULED,
            from_starts_at=old_start,
            to_starts_at=new_start,
            from_instructor_id=old_instructor,
            to_instructor_id=instructor_id,
        )
        db.session.refresh(attendee)
        reminders.cancel([attendee.id], now, "the lesson was moved")
        reminders.plan([attendee], now)
        _notify("rescheduled", [attendee], previous_start=old_start)
    return attendee


def _notify(event: str, attendees: list[BookingAttendee], **context) -> None:
    """Queue the e-mails in this transaction: they exist exactly when the change does."""
    queue_booking_emails(event, attendees, **context)


def _remember_zone(student: Membership, actor: Membership, time_zone: str | None) -> None:
    if time_zone and actor.id == student.id and student.time_zone != time_zone:
        student.time_zone = time_zone


__all__ = [
    "BookingProblem",
    "LessonChoice",
    "NotFound",
    "Occurrence",
    "SlotTaken",
    "book_lesson",
    "book_series",
    "cancel_booking",
    "cancel_session",
    "changes_together",
    "free_slots",
    "occupied_range",
    "preview_series",
    "reschedule_booking",
    "reschedule_slots",
    "visible_attendee",
]
