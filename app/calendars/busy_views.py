"""Busy times from an instructor's own calendar: paste its secret address, see when it was last
read and any error (routes on ``app.calendars.views.bp``).

- ``/teaching/busy``                       the signed-in instructor's own calendar
- ``/calendar/instructors/<id>/busy``      the same, for an admin, for one of the school's
                                           instructors
"""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, request
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from app import clock
from app.booking import params
from app.calendars import busy
from app.calendars.views import bp, render, signed_in_member
from app.models import Membership
from app.tenancy import current_org

log = logging.getLogger(__name__)


class AddressForm(FlaskForm):
    url = StringField(
        "Secret address of your calendar (iCal)",
        validators=[Optional(), Length(max=2000, message="That address is too long.")],
    )


def _whose(instructor_id: int | None) -> Membership:
    try:
        return busy.instructor_of(signed_in_member(), instructor_id)
    except LookupError:
        if instructor_id is None:
            abort(403, description="This page is for the school's instructors.")
        abort(404, description="That instructor is not part of this school.")


def _page(instructor: Membership, form: AddressForm, status: int = 200):
    calendar = busy.calendar_of(instructor)
    now = clock.now()
    return render(
        "calendars/busy.html",
        status=status,
        instructor=instructor,
        calendar=calendar,
        busy_times=busy.upcoming_busy(instructor, now) if calendar else [],
        form=form,
        own=instructor.id == signed_in_member().id,
        action=request.path,
        school=current_org(),
    )


def _show(instructor_id: int | None):
    instructor = _whose(instructor_id)
    calendar = busy.calendar_of(instructor)
    form = AddressForm(formdata=None, url=calendar.url if calendar else "")
    return _page(instructor, form)


def _save(instructor_id: int | None):
    instructor = _whose(instructor_id)
    form = AddressForm()
    if not form.validate():
        raise params.BadInput("The form had expired or the address is too long; try again.")
    if request.form.get("remove"):
        busy.remove_address(instructor)
        flash("The calendar is no longer read; its busy times are gone.", "info")
        return redirect(request.path)
    try:
        calendar = busy.save_address(instructor, form.url.data or "")
    except busy.CalendarProblem as problem:
        raise params.BadInput(str(problem)) from None
    _read_soon(calendar)
    flash("Saved. The calendar is read within a few minutes, then every 15 minutes.", "success")
    return redirect(request.path)


def _read_soon(calendar) -> None:
    from app.calendars.tasks import refresh_external_calendar

    try:
        refresh_external_calendar.delay(calendar.id, calendar.organization_id)
    except Exception:  # the beat reads it on its next round anyway
        log.warning("Could not queue a read of calendar %s", calendar.id, exc_info=True)


@bp.get("/teaching/busy")
def teaching_busy():
    return _show(None)


@bp.post("/teaching/busy")
def teaching_busy_save():
    return _save(None)


@bp.get("/calendar/instructors/<int:instructor_id>/busy")
def school_busy(instructor_id: int):
    return _show(instructor_id)


@bp.post("/calendar/instructors/<int:instructor_id>/busy")
def school_busy_save(instructor_id: int):
    return _save(instructor_id)
