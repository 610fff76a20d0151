"""The students' booking pages on a school's subdomain (server-rendered, no JS required).

1. ``/book/``                         the school's appointment types
2. ``/book/<type>``                   instructor (or any) and where
3. ``/book/<type>/times``             a week of free times, week by week
4. ``/book/<type>/confirm``           notes / address / weekly repeat → confirmation page
5. ``/bookings/``                     my bookings: upcoming and past, cancel, reschedule

Views are thin: read the request (``params``), call ``service``, render.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import NamedTuple
from urllib.parse import quote_plus, unquote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app import clock
from app.booking import params, service
from app.booking.display import week_columns, zone_label
from app.booking.forms import CancelForm, ConfirmForm, ReminderPreferenceForm, RescheduleForm
from app.booking.service import BookingProblem, LessonChoice, SlotTaken
from app.branding import school_look
from app.extensions import db
from app.models import (
    AppointmentType,
    Booking,
    BookingAttendee,
    BookingChange,
    BookingStatus,
    InstructorQualification,
    Location,
    LocationMode,
    Membership,
    MembershipRole,
    User,
    appointment_type_locations,
)
from app.notifications import reminders
from app.tenancy import current_membership, current_org

bp = Blueprint("booking", __name__)
ZONE_COOKIE = "cc_tz"


@bp.before_request
def only_on_a_school_site():
    school = current_org()
    if school is None:
        abort(404)
    # What every page's frame shows, read once now: a booking that loses a race rolls its
    # transaction back, which expires these objects, and the answer should not reload them.
    membership = current_membership()
    g.frame = Frame(
        school.name,
        school.time_zone,
        membership.role.value if membership is not None else None,
        current_user.first_name if current_user.is_authenticated else None,
    )
    school_look()  # the navbar's logo and colour, read now for the same reason


class Frame(NamedTuple):
    school_name: str
    time_zone: str
    role: str | None
    first_name: str | None


@bp.errorhandler(BookingProblem)
def show_problem(problem: BookingProblem):
    return render(
        "booking/problem.html", status=problem.status_code, problem=problem, back=request.referrer
    )


# The characters werkzeug leaves unquoted in a query string (its ``_urlencode``).
_QUERY_SAFE = "!$'()*,/:;?@"


def query_urls(endpoint: str, **path_args) -> Callable[..., str]:
    """``url_for(endpoint, **path_args, **query)`` for the hundreds of time buttons of a week:
    the route is built once, then each button only adds its query string, and each distinct
    value is quoted once (url_for costs ~40 µs a call, urlencode ~10 µs; at 600 buttons that
    was a sixth of the page)."""
    base = url_for(endpoint, **path_args)
    quoted: dict[object, str] = {}

    def quote(value: object) -> str:
        found = quoted.get(value)
        if found is None:
            found = quoted[value] = quote_plus(str(value), safe=_QUERY_SAFE)
        return found

    def url(**query) -> str:
        pairs = [f"{quote(k)}={quote(v)}" for k, v in query.items() if v is not None]
        return f"{base}?{'&'.join(pairs)}" if pairs else base

    return url


def render(template: str, status: int = 200, **context):
    # FAB's navbar reads g.user, which FAB sets only for its own views.
    g.setdefault("user", current_user)
    appbuilder = current_app.appbuilder
    return render_template(
        template,
        appbuilder=appbuilder,
        school=current_org(),
        frame=g.frame,
        student_zone=student_zone(g.frame.time_zone),
        **context,
    ), status


def visitor_zone() -> str | None:
    """The visitor's own zone (from ?tz= or the cookie the page's script sets), if known."""
    return params.time_zone(request.args.get("tz")) or params.time_zone(
        unquote(request.cookies.get(ZONE_COOKIE, ""))
    )


def student_zone(school_zone: str) -> str | None:
    """The visitor's own zone, if known and different from the school's."""
    zone = visitor_zone()
    return zone if zone and zone != school_zone else None


def sign_in_first():
    return redirect(current_app.appbuilder.get_url_for_login_with(request.full_path))


def booking_actor() -> Membership | None:
    """Who may book here: a student (for themselves) or an admin (for a student)."""
    membership = current_membership()
    if membership is None:
        return None
    if membership.role not in (MembershipRole.STUDENT, MembershipRole.ADMIN):
        raise BookingProblem(
            "Only students (or the school's administrators) can book lessons.", 403
        )
    return membership


# --- lookups for the templates ----------------------------------------------------------------


def location_names() -> dict[int, str]:
    rows = db.session.execute(
        sa.select(Location.id, Location.name).where(Location.organization_id == current_org().id)
    )
    return dict(rows.all())


def location_addresses() -> dict[int, str]:
    rows = db.session.execute(
        sa.select(Location.id, Location.address).where(
            Location.organization_id == current_org().id, Location.address.is_not(None)
        )
    )
    return dict(rows.all())


def type_locations(appointment_type: AppointmentType) -> list[Location]:
    return list(
        db.session.scalars(
            sa.select(Location)
            .join(
                appointment_type_locations,
                appointment_type_locations.c.location_id == Location.id,
            )
            .where(
                appointment_type_locations.c.appointment_type_id == appointment_type.id,
                Location.organization_id == appointment_type.organization_id,
                Location.active.is_(True),
            )
            .order_by(Location.name)
        )
    )


def qualified_instructors(appointment_type: AppointmentType) -> list[tuple[int, str]]:
    rows = db.session.execute(
        sa.select(Membership.id, User.first_name, User.last_name)
        .join(User, User.id == Membership.user_id)
        .join(InstructorQualification, InstructorQualification.instructor_id == Membership.id)
        .where(
            InstructorQualification.appointment_type_id == appointment_type.id,
            InstructorQualification.organization_id == appointment_type.organization_id,
            Membership.active.is_(True),
            Membership.role == MembershipRole.INSTRUCTOR,
        )
        .order_by(User.first_name, User.last_name)
    )
    return [(i, f"{first} {last}".strip()) for i, first, last in rows]


def choice_from_args(appointment_type: AppointmentType) -> dict:
    """Step 2's answers (instructor, mode, location), checked, from the query string."""
    instructors = dict(qualified_instructors(appointment_type))
    instructor_id = params.optional_int(request.args.get("instructor"), "instructor")
    if instructor_id is not None and instructor_id not in instructors:
        raise BookingProblem("That instructor does not teach this lesson type here.")
    mode = params.optional_mode(request.args.get("mode"))
    if mode is not None and mode not in appointment_type.location_modes:
        raise BookingProblem("This lesson type is not offered in that way.")
    location_id = params.optional_int(request.args.get("location"), "location")
    if location_id is not None:
        if location_id not in {loc.id for loc in type_locations(appointment_type)}:
            raise BookingProblem("This lesson type is not offered at that location.")
        if mode not in (None, LocationMode.IN_PERSON.value):
            raise BookingProblem("A location only applies to in-person lessons.")
    return {
        "instructor": instructor_id,
        "mode": mode,
        "location": location_id,
        "instructor_names": instructors,
    }


# --- 1. appointment types ---------------------------------------------------------------------


@bp.get("/book/")
def types():
    appointment_types = db.session.scalars(
        sa.select(AppointmentType)
        .where(
            AppointmentType.organization_id == current_org().id, AppointmentType.active.is_(True)
        )
        .order_by(AppointmentType.name)
    ).all()
    return render("booking/types.html", appointment_types=appointment_types)


# --- 2. instructor and place ------------------------------------------------------------------


@bp.get("/book/<int:type_id>")
def choose(type_id: int):
    appointment_type = service.bookable_type(type_id)
    return render(
        "booking/choose.html",
        appointment_type=appointment_type,
        instructors=qualified_instructors(appointment_type),
        locations=type_locations(appointment_type),
        modes=[LocationMode(m) for m in appointment_type.location_modes],
    )


# --- 3. a week of times -----------------------------------------------------------------------


def _week(school_zone: str, default: date | None = None) -> tuple[date, date]:
    """The week asked for (``?week=``), else ``default``'s, never one before this week."""
    this_week = params.week_of(params.today_in(school_zone))
    asked = params.optional_date(request.args.get("week"), "week") or default
    week = params.week_of(asked) if asked else this_week
    if week < this_week:
        week = this_week
    return week, this_week


@bp.get("/book/<int:type_id>/times")
def times(type_id: int):
    appointment_type = service.bookable_type(type_id)
    chosen = choice_from_args(appointment_type)
    school = current_org()
    week, this_week = _week(school.time_zone)
    filters = {
        "instructor_id": chosen["instructor"],
        "location_mode": chosen["mode"],
        "location_id": chosen["location"],
    }
    if request.args.get("week"):
        slots = service.free_slots(appointment_type, week, week + timedelta(days=7), **filters)
    else:  # open on the first week that has a free time, not on an empty one
        week, slots = service.first_week_with_free_times(appointment_type, week, **filters)
    zone = student_zone(school.time_zone)
    columns = week_columns(
        slots, week, school.time_zone, zone, location_names(), school.time_format
    )
    args = {
        k: v
        for k, v in (
            ("instructor", chosen["instructor"]),
            ("mode", chosen["mode"]),
            ("location", chosen["location"]),
        )
        if v is not None
    }
    template = "booking/_week.html" if request.args.get("partial") else "booking/times.html"
    asked_zone = request.args.get("tz") or None
    keep = {**args, "tz": params.time_zone(asked_zone)}

    def week_url(monday: date) -> str:
        return url_for("booking.times", type_id=type_id, week=monday.isoformat(), **keep)

    confirm_url = query_urls("booking.confirm", type_id=type_id)

    def slot_url(slot) -> str:
        return confirm_url(
            start=slot.start_iso,
            mode=slot.mode,
            location=slot.location_id,
            instructor=chosen["instructor"],
        )

    return render(
        template,
        appointment_type=appointment_type,
        columns=columns,
        week=week,
        week_url=week_url,
        slot_url=slot_url,
        picked=None,
        show_place=chosen["location"] is None and _several_places(appointment_type, chosen["mode"]),
        previous_week=week - timedelta(days=7) if week > this_week else None,
        next_week=week + timedelta(days=7),
        args=args,
        instructor_name=chosen["instructor_names"].get(chosen["instructor"]),
        slot_count=len(slots),
        zone_names=params.zone_names(),
        zone_unknown=asked_zone if asked_zone and not keep["tz"] else None,
        school_zone_label=zone_label(school.time_zone, clock.now()),
        student_zone_label=zone_label(zone, clock.now()) if zone else None,
    )


def _several_places(appointment_type: AppointmentType, mode: str | None) -> bool:
    if mode is None and len(appointment_type.location_modes) > 1:
        return True
    in_person = mode == LocationMode.IN_PERSON.value or (
        mode is None and LocationMode.IN_PERSON.value in appointment_type.location_modes
    )
    return in_person and len(type_locations(appointment_type)) > 1


# --- 4. confirm -------------------------------------------------------------------------------


def _lesson_choice(appointment_type: AppointmentType) -> tuple[LessonChoice, dict[int, str]]:
    """The picked slot from the query string, and the instructors' names for the page."""
    chosen = choice_from_args(appointment_type)
    start = params.moment(request.args.get("start"))
    mode = chosen["mode"]
    if mode is None:
        if len(appointment_type.location_modes) != 1:
            raise params.BadInput("Please choose in person, online or at your location.")
        mode = appointment_type.location_modes[0]
    location_id = chosen["location"]
    if mode == LocationMode.IN_PERSON.value and location_id is None:
        raise params.BadInput("Please choose a location for an in-person lesson.")
    choice = LessonChoice(appointment_type.id, start, mode, chosen["instructor"], location_id)
    return choice, chosen["instructor_names"]


def _students() -> list[tuple[int, str]]:
    rows = db.session.execute(
        sa.select(Membership.id, User.first_name, User.last_name, User.email)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organization_id == current_org().id,
            Membership.role == MembershipRole.STUDENT,
            Membership.active.is_(True),
        )
        .order_by(User.first_name, User.last_name)
    )
    return [(i, f"{first} {last} <{email}>") for i, first, last, email in rows]


@bp.route("/book/<int:type_id>/confirm", methods=["GET", "POST"])
def confirm(type_id: int):
    appointment_type = service.bookable_type(type_id)
    choice, instructor_names = _lesson_choice(appointment_type)
    actor = booking_actor()
    if actor is None:
        return sign_in_first()
    form = ConfirmForm()
    is_admin = actor.role == MembershipRole.ADMIN
    if is_admin:
        form.student.choices = [(0, "Choose a student…"), *_students()]
    context = {
        "appointment_type": appointment_type,
        "choice": choice,
        "form": form,
        "is_admin": is_admin,
        "instructor_names": instructor_names,
        "place_names": location_names,
        "place_addresses": location_addresses,
    }
    if request.method == "GET":
        return render("booking/confirm.html", **context)
    if not form.validate():
        return render("booking/confirm.html", status=400, problem=_form_problem(form), **context)
    try:
        student = _student_for(actor, form)
        repeat = form.repeat.data
        if not repeat:
            attendee = service.book_lesson(
                choice,
                student=student,
                actor=actor,
                notes=form.notes.data,
                address=form.address.data,
                student_time_zone=visitor_zone(),
            )
            return redirect(url_for("booking.detail", attendee_id=attendee.id, new=1))
        weeks = form.weeks.data if repeat == "weeks" else None
        until = form.until.data if repeat == "until" else None
        if repeat == "weeks" and weeks is None:
            raise params.BadInput("Please say for how many weeks.")
        if repeat == "until" and until is None:
            raise params.BadInput("Please give the date of the last lesson.")
        accepted = request.form.getlist("accepted")
        if request.form.get("step") != "book-series":
            occurrences = service.preview_series(
                choice, student=student, weeks=weeks, until_local=until
            )
            return render("booking/series_preview.html", occurrences=occurrences, **context)
        attendees = service.book_series(
            choice,
            student=student,
            actor=actor,
            weeks=weeks,
            until_local=until,
            accepted_starts=[params.moment(value) for value in accepted],
            notes=form.notes.data,
            address=form.address.data,
            student_time_zone=visitor_zone(),
        )
        return redirect(
            url_for("booking.detail", attendee_id=attendees[0].id, new=1, series=len(attendees))
        )
    except SlotTaken as problem:
        # Many people can lose a race at once: a short page, back to the week's free times.
        return render(
            "booking/problem.html",
            status=problem.status_code,
            problem=problem,
            back=url_for(
                "booking.times",
                type_id=type_id,
                week=choice.start.date().isoformat(),
                **{k: v for k, v in request.args.items() if k != "start"},
            ),
        )
    except BookingProblem as problem:
        return render(
            "booking/confirm.html", status=problem.status_code, problem=problem, **context
        )


def _form_problem(form: ConfirmForm) -> BookingProblem:
    messages = [
        f"{form[name].label.text}: {errors[0]}"
        for name, errors in form.errors.items()
        if name in form
    ]
    if "csrf_token" in form.errors:
        messages = ["The form had expired; please try again."]
    return params.BadInput(" ".join(messages) or "Please check the form.")


def _student_for(actor: Membership, form: ConfirmForm) -> Membership:
    if actor.role == MembershipRole.STUDENT:
        return actor
    if not form.student.data:
        raise params.BadInput("Choose the student this lesson is for.")
    return service.school_member(form.student.data, MembershipRole.STUDENT, "student")


# --- 5. my bookings ---------------------------------------------------------------------------


def _signed_in_member() -> Membership | None:
    return current_membership()


@bp.get("/bookings/")
def mine():
    actor = _signed_in_member()
    if actor is None:
        return sign_in_first()
    if actor.role == MembershipRole.ADMIN:
        return redirect(url_for("BookingView.list"))
    if actor.role == MembershipRole.INSTRUCTOR:
        return redirect(url_for("TeachingScheduleView.index"))
    now = clock.now()
    rows = db.session.execute(
        sa.select(BookingAttendee, Booking)
        .join(Booking, Booking.id == BookingAttendee.booking_id)
        .where(
            BookingAttendee.organization_id == actor.organization_id,
            BookingAttendee.student_id == actor.id,
        )
        .order_by(Booking.starts_at)
    ).all()
    upcoming = [(a, b) for a, b in rows if a.is_confirmed and b.ends_at > now]
    past = [(a, b) for a, b in reversed(rows) if not (a.is_confirmed and b.ends_at > now)]
    return render(
        "booking/mine.html",
        upcoming=upcoming,
        past=past[:100],
        now=now,
        may_change=lambda b: _may_change(actor, b, now),
        reminder_form=ReminderPreferenceForm(lesson_reminders=actor.lesson_reminders),
    )


@bp.post("/bookings/reminders")
def reminder_preference():
    actor = _signed_in_member()
    if actor is None:
        return sign_in_first()
    if actor.role != MembershipRole.STUDENT:
        raise params.BadInput("Only students receive lesson reminders.")
    form = ReminderPreferenceForm()
    if not form.validate():
        raise params.BadInput("The form had expired; please try again.")
    reminders.set_preference(actor, bool(form.lesson_reminders.data))
    flash(
        "You will get a reminder before each lesson."
        if form.lesson_reminders.data
        else "Lesson reminders are off. Confirmations and changes still reach you.",
        "success",
    )
    return redirect(url_for("booking.mine") + "#reminders")


def _may_change(actor: Membership, booking: Booking, now) -> bool:
    if actor.role == MembershipRole.ADMIN:
        return booking.is_confirmed and booking.ends_at > now
    cutoff = timedelta(hours=booking.appointment_type.cancellation_cutoff_hours)
    return booking.is_confirmed and now < booking.starts_at - cutoff


def _attendee_or_login(attendee_id: int):
    actor = _signed_in_member()
    if actor is None:
        return None, sign_in_first()
    return service.visible_attendee(attendee_id, actor), actor


@bp.get("/bookings/<int:attendee_id>")
def detail(attendee_id: int):
    attendee, actor = _attendee_or_login(attendee_id)
    if attendee is None:
        return actor
    history = db.session.scalars(
        sa.select(BookingChange)
        .where(
            BookingChange.organization_id == attendee.organization_id,
            BookingChange.attendee_id == attendee.id,
        )
        .order_by(BookingChange.created_at, BookingChange.id)
    ).all()
    now = clock.now()
    series_left = 0
    if attendee.series_id is not None:
        series_left = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(BookingAttendee)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .where(
                BookingAttendee.organization_id == attendee.organization_id,
                BookingAttendee.series_id == attendee.series_id,
                BookingAttendee.status == BookingStatus.CONFIRMED.value,
                Booking.starts_at > attendee.booking.starts_at,
            )
        )
    return render(
        "booking/detail.html",
        attendee=attendee,
        booking=attendee.booking,
        history=history,
        may_change=attendee.is_confirmed
        and _may_change(actor, attendee.booking, now)
        and actor.role != MembershipRole.INSTRUCTOR,
        series_left=series_left,
        cancel_form=CancelForm(),
        is_new=bool(request.args.get("new")),
        series_count=request.args.get("series", type=int),
    )


@bp.post("/bookings/<int:attendee_id>/cancel")
def cancel(attendee_id: int):
    attendee, actor = _attendee_or_login(attendee_id)
    if attendee is None:
        return actor
    form = CancelForm()
    if not form.validate():
        raise params.BadInput("The form had expired; please try again.")
    cancelled = service.cancel_booking(
        attendee.id, actor=actor, reason=form.reason.data, following=form.scope.data == "following"
    )
    flash(
        f"Cancelled {len(cancelled)} lesson(s)."
        if len(cancelled) > 1
        else "Your booking is cancelled.",
        "success",
    )
    return redirect(url_for("booking.detail", attendee_id=attendee.id))


@bp.route("/bookings/<int:attendee_id>/reschedule", methods=["GET", "POST"])
def reschedule(attendee_id: int):
    attendee, actor = _attendee_or_login(attendee_id)
    if attendee is None:
        return actor
    form = RescheduleForm()
    if request.method == "POST":
        if not form.validate():
            raise params.BadInput("Please pick a new time from the list.")
        moved = service.reschedule_booking(
            attendee.id,
            actor=actor,
            new_start=params.moment(form.start.data),
            new_instructor_id=params.optional_int(form.instructor.data, "instructor"),
        )
        flash("Your lesson has been moved.", "success")
        return redirect(url_for("booking.detail", attendee_id=moved.id))
    now = clock.now()
    if not _may_change(actor, attendee.booking, now) or actor.role == MembershipRole.INSTRUCTOR:
        raise BookingProblem(
            "This booking can no longer be changed online; please contact the school.", 403
        )
    school = current_org()
    booked_day = attendee.booking.starts_at.astimezone(ZoneInfo(school.time_zone)).date()
    week, this_week = _week(school.time_zone, default=booked_day)
    slots = service.reschedule_slots(attendee, week, week + timedelta(days=7))
    zone = student_zone(school.time_zone)
    picked = params.moment(request.args["start"]) if request.args.get("start") else None
    if picked:
        form.start.data = picked.isoformat()  # the confirm form posts it back

    def week_url(monday: date) -> str:
        return url_for("booking.reschedule", attendee_id=attendee.id, week=monday.isoformat())

    reschedule_url = query_urls("booking.reschedule", attendee_id=attendee.id)

    def slot_url(slot) -> str:
        return reschedule_url(start=slot.start_iso, week=week.isoformat())

    template = "booking/_week.html" if request.args.get("partial") else "booking/reschedule.html"
    return render(
        template,
        attendee=attendee,
        booking=attendee.booking,
        week_url=week_url,
        slot_url=slot_url,
        show_place=False,
        appointment_type=attendee.booking.appointment_type,
        columns=week_columns(
            slots, week, school.time_zone, zone, location_names(), school.time_format
        ),
        week=week,
        previous_week=week - timedelta(days=7) if week > this_week else None,
        next_week=week + timedelta(days=7),
        form=form,
        picked=picked,
        school_zone_label=zone_label(school.time_zone, now),
        student_zone_label=zone_label(zone, now) if zone else None,
    )
