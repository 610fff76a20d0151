"""The admins' booking calendar and booking page (routes on ``app.calendars.views.bp``).

- ``/calendar/``                          day / week / month, filters, cancelled on request
- ``/calendar/bookings/<id>``              one lesson or class: students, notes, history
- ``/calendar/bookings/<id>/cancel``       call it off (``service.cancel_session``)
- ``/calendar/bookings/<id>/move``         pick a free time and move a student's seat there
                                            (``service.reschedule_slots`` / ``reschedule_booking``)

Every write goes through the booking service, so the checks are those of every booking.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app import clock
from app.booking import params, service
from app.booking.display import zone_label
from app.booking.service import BookingProblem
from app.calendars import pages
from app.calendars.views import bp, render, signed_in_member
from app.extensions import db
from app.models import (
    AppointmentType,
    Booking,
    BookingAttendee,
    BookingChange,
    Location,
    Membership,
    MembershipRole,
)
from app.tenancy import current_org


class CancelSessionForm(FlaskForm):
    reason = StringField(
        "Reason (the students read it)",
        validators=[
            DataRequired("Please say why the lesson is cancelled."),
            Length(max=500, message="Please keep the reason under 500 characters."),
        ],
    )


class MoveForm(FlaskForm):
    """The CSRF token of a free-time button; the seat and start come with the button."""


@bp.errorhandler(BookingProblem)
def show_problem(problem: BookingProblem):
    return render(
        "calendars/problem.html",
        status=problem.status_code,
        problem=problem,
        back=request.referrer,
    )


def school_admin() -> Membership:
    member = signed_in_member()
    if member.role != MembershipRole.ADMIN:
        abort(403, description="The booking calendar is for the school's administrators.")
    return member


def today_local() -> date:
    return clock.now().astimezone(ZoneInfo(current_org().time_zone)).date()


def _choice(name: str, options: dict[int, str], what: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) not in options:
        raise params.BadInput(f"That {what} is not part of this school; pick one from the list.")
    return int(raw)


def _day(raw: str | None) -> date:
    if not raw:
        return today_local()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise params.BadInput(
            "That date could not be read; use the calendar's own links."
        ) from None


@bp.get("/calendar/")
def school_calendar():
    school_admin()
    school = current_org()
    view = request.args.get("view", "week")
    if view not in pages.VIEWS:
        raise params.BadInput("Choose a day, week or month view.")
    anchor = _day(request.args.get("date"))
    people = {
        m.id: m.full_name
        for m in db.session.scalars(
            sa.select(Membership).where(
                Membership.organization_id == school.id,
                Membership.role == MembershipRole.INSTRUCTOR,
            )
        )
    }
    locations = dict(
        db.session.execute(
            sa.select(Location.id, Location.name)
            .where(Location.organization_id == school.id)
            .order_by(Location.name)
        ).all()
    )
    types = {
        t.id: t
        for t in db.session.scalars(
            sa.select(AppointmentType)
            .where(AppointmentType.organization_id == school.id)
            .order_by(AppointmentType.name)
        )
    }
    filters = {
        "instructor_id": _choice("instructor", people, "instructor"),
        "location_id": _choice("location", locations, "location"),
        "appointment_type_id": _choice("type", types, "appointment type"),
    }
    with_cancelled = request.args.get("cancelled") == "1"
    first, stop, _, _ = pages.view_range(view, anchor)
    bookings = pages.load_bookings(
        school.id, school.time_zone, first, stop, with_cancelled=with_cancelled, **filters
    )
    grid = pages.build_grid(
        view,
        anchor,
        today_local(),
        school.time_zone,
        bookings,
        lambda booking: url_for("calendars.school_booking", booking_id=booking.id),
    )

    def link(**changes) -> str:
        args = {k: v for k, v in request.args.items() if v}
        args.update({k: v for k, v in changes.items()})
        return url_for("calendars.school_calendar", **{k: v for k, v in args.items() if v})

    return render(
        "calendars/school.html",
        grid=grid,
        view=view,
        anchor=anchor,
        link=link,
        previous=pages.step(view, anchor, -1),
        following=pages.step(view, anchor, 1),
        people=sorted(people.items(), key=lambda p: p[1]),
        locations=locations,
        types=types,
        filters=filters,
        with_cancelled=with_cancelled,
        school=school,
        zone=zone_label(school.time_zone, clock.now()),
        count=len(bookings),
    )


def _booking(booking_id: int) -> Booking:
    found = db.session.scalar(
        sa.select(Booking).where(
            Booking.organization_id == current_org().id, Booking.id == booking_id
        )
    )
    if found is None:
        abort(404, description="There is no such booking.")
    return found


def _history(booking: Booking) -> list[BookingChange]:
    return db.session.scalars(
        sa.select(BookingChange)
        .where(
            BookingChange.organization_id == booking.organization_id,
            BookingChange.booking_id == booking.id,
        )
        .order_by(BookingChange.created_at, BookingChange.id)
    ).all()


@bp.get("/calendar/bookings/<int:booking_id>")
def school_booking(booking_id: int):
    school_admin()
    booking = _booking(booking_id)
    school = current_org()
    return render(
        "calendars/booking.html",
        booking=booking,
        seats=booking.attendees,
        history=_history(booking),
        cancel_form=CancelSessionForm(formdata=None),
        may_change=booking.is_confirmed and booking.ends_at > clock.now(),
        school=school,
        zone=zone_label(school.time_zone, clock.now()),
        back=url_for("calendars.school_calendar", date=_local_day(booking).isoformat()),
    )


def _local_day(booking: Booking) -> date:
    return booking.starts_at.astimezone(ZoneInfo(current_org().time_zone)).date()


@bp.post("/calendar/bookings/<int:booking_id>/cancel")
def school_cancel(booking_id: int):
    admin = school_admin()
    booking = _booking(booking_id)
    form = CancelSessionForm()
    if not form.validate():
        raise params.BadInput(_first_error(form))
    service.cancel_session(booking.id, actor=admin, reason=form.reason.data)
    flash("The booking is cancelled and the students have been told.", "success")
    return redirect(url_for("calendars.school_booking", booking_id=booking.id))


@bp.route("/calendar/bookings/<int:booking_id>/move", methods=["GET", "POST"])
def school_move(booking_id: int):
    admin = school_admin()
    booking = _booking(booking_id)
    if request.method == "POST":
        if not MoveForm().validate():
            raise params.BadInput("The form had expired; please try again.")
        seat = _seat(booking, request.form.get("seat"))
        moved = service.reschedule_booking(
            seat.id, actor=admin, new_start=params.moment(request.form.get("start"))
        )
        flash("The lesson has been moved and the student has been told.", "success")
        return redirect(url_for("calendars.school_booking", booking_id=moved.booking_id))
    seat = _seat(booking, request.args.get("seat") or _only_seat(booking))
    school = current_org()
    week = _day(request.args.get("week")) if request.args.get("week") else _local_day(booking)
    week -= timedelta(days=week.weekday())
    slots = service.reschedule_slots(seat, week, week + timedelta(days=7))
    return render(
        "calendars/move.html",
        booking=booking,
        seat=seat,
        slots=slots,
        week=week,
        previous_week=week - timedelta(days=7),
        next_week=week + timedelta(days=7),
        form=MoveForm(formdata=None),
        school=school,
        zone=zone_label(school.time_zone, clock.now()),
    )


def _only_seat(booking: Booking) -> str:
    confirmed = [a for a in booking.attendees if a.is_confirmed]
    if len(confirmed) != 1:
        raise params.BadInput("Choose which student to move (each has a Move link).")
    return str(confirmed[0].id)


def _seat(booking: Booking, raw: str | None) -> BookingAttendee:
    if not raw or not str(raw).isdigit():
        raise params.BadInput("Choose which student to move (each has a Move link).")
    for attendee in booking.attendees:
        if attendee.id == int(raw):
            return attendee
    abort(404, description="That student is not in this booking.")


def _first_error(form: FlaskForm) -> str:
    for errors in form.errors.values():
        if errors:
            return errors[0] if isinstance(errors[0], str) else "Please check the form."
    return "The form had expired; please try again."
