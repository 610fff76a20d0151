"""The instructor's side of the calendar (routes on ``app.calendars.views.bp``).

- ``/teaching/week``                     their week: lessons in hour cells, working hours shaded
- ``/teaching/lessons/<id>``              one lesson: students, their notes and contact
- ``/teaching/lessons/<id>/cancel``       call it off with a reason; the students are told

Only the instructor's own lessons: another instructor's (or school's) id is a 404.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for

from app import clock
from app.booking import params, service
from app.booking.display import zone_label
from app.calendars import pages
from app.calendars.school_views import CancelSessionForm, _day, _first_error, _history, today_local
from app.calendars.views import bp, render, signed_in_member
from app.extensions import db
from app.models import Booking, Membership, MembershipRole
from app.tenancy import current_org


def instructor() -> Membership:
    member = signed_in_member()
    if member.role != MembershipRole.INSTRUCTOR:
        abort(403, description="This page is for the school's instructors.")
    return member


def _own_lesson(me: Membership, booking_id: int) -> Booking:
    found = db.session.scalar(
        sa.select(Booking).where(
            Booking.organization_id == me.organization_id,
            Booking.id == booking_id,
            Booking.instructor_id == me.id,
        )
    )
    if found is None:
        abort(404, description="There is no such lesson in your calendar.")
    return found


@bp.get("/teaching/week")
def teaching_week():
    me = instructor()
    school = current_org()
    anchor = _day(request.args.get("week"))
    first, stop, _, _ = pages.view_range("week", anchor)
    bookings = pages.load_bookings(
        school.id,
        school.time_zone,
        first,
        stop,
        instructor_id=me.id,
        with_cancelled=request.args.get("cancelled") == "1",
    )
    grid = pages.build_grid(
        "week",
        anchor,
        today_local(),
        school.time_zone,
        bookings,
        lambda booking: url_for("calendars.lesson", booking_id=booking.id),
        working=pages.working_hours(school.id, school.time_zone, me.id, first, stop),
        busy=pages.busy_times(school.id, school.time_zone, me.id, first, stop),
    )
    return render(
        "calendars/teaching_week.html",
        grid=grid,
        previous=first - timedelta(days=7),
        following=first + timedelta(days=7),
        school=school,
        zone=zone_label(school.time_zone, clock.now()),
        count=len(bookings),
    )


@bp.get("/teaching/lessons/<int:booking_id>")
def lesson(booking_id: int):
    me = instructor()
    booking = _own_lesson(me, booking_id)
    school = current_org()
    return render(
        "calendars/lesson.html",
        booking=booking,
        seats=booking.attendees,
        history=_history(booking),
        cancel_form=CancelSessionForm(formdata=None),
        may_cancel=booking.is_confirmed and booking.ends_at > clock.now(),
        week=booking.starts_at.astimezone(ZoneInfo(school.time_zone)).date().isoformat(),
        school=school,
        zone=zone_label(school.time_zone, clock.now()),
    )


@bp.post("/teaching/lessons/<int:booking_id>/cancel")
def cancel_lesson(booking_id: int):
    me = instructor()
    booking = _own_lesson(me, booking_id)
    form = CancelSessionForm()
    if not form.validate():
        raise params.BadInput(_first_error(form))
    service.cancel_session(booking.id, actor=me, reason=form.reason.data)
    flash("The lesson is cancelled and the students have been told.", "success")
    return redirect(url_for("calendars.lesson", booking_id=booking.id))
