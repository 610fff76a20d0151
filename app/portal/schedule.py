"""Teaching portal: an instructor's upcoming lessons and their own hours, overrides, time off.

Everything here is the signed-in instructor's own: rows are looked up by id *and* instructor,
so another instructor's (or school's) id is a 404. The checks are the admin panel's
(``app.booking.hours``).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional

from app import clock
from app.admin.fields import meeting_link_validators, school_time_field
from app.booking import day_hours, disruptions
from app.booking.hours import day_range_problems, override_problems, weekly_hours_problems
from app.extensions import db
from app.models import (
    Booking,
    BookingStatus,
    HoursOverride,
    Location,
    LocationMode,
    Membership,
    MembershipRole,
    TimeOff,
    WorkingHours,
)
from app.models.scheduling import WEEKDAYS
from app.tenancy import current_membership

UPCOMING_DAYS = 28


def _location_choices() -> list[tuple[int, str]]:
    membership = current_membership()
    rows = db.session.execute(
        sa.select(Location.id, Location.name)
        .where(Location.organization_id == membership.organization_id, Location.active.is_(True))
        .order_by(Location.name)
    )
    return [(0, "Not tied to one place"), *((i, name) for i, name in rows)]


class _WindowForm(FlaskForm):
    start_time = school_time_field("Start", message="Give a start time.")
    end_time = school_time_field("End", message="Give an end time.")
    location = SelectField("Location", coerce=int, default=0)
    modes = SelectMultipleField(
        "Ways of teaching",
        choices=[(m.value, m.label) for m in LocationMode],
        default=[m.value for m in LocationMode],
        validators=[InputRequired("Choose at least one way of teaching.")],
    )


class HoursForm(_WindowForm):
    weekday = SelectField("Weekday", coerce=int, choices=list(enumerate(WEEKDAYS)))
    effective_from = DateField("From (optional)", validators=[Optional()])
    effective_until = DateField("Until (optional)", validators=[Optional()])


class OverrideForm(_WindowForm):
    day = DateField("Date", validators=[InputRequired("Give the date.")])


class TimeOffForm(FlaskForm):
    first_day = DateField("First day", validators=[InputRequired("Give the first day.")])
    last_day = DateField("Last day", validators=[InputRequired("Give the last day.")])
    reason = StringField("Reason (optional)", validators=[Optional(), Length(max=200)])


class MeetingLinkForm(FlaskForm):
    meeting_link = StringField(
        "Your meeting link for online lessons", validators=meeting_link_validators()
    )


class DeleteForm(FlaskForm):
    """No fields: only the CSRF token that guards a delete button."""


def _me() -> Membership:
    membership = current_membership()
    if membership is None or membership.role != MembershipRole.INSTRUCTOR:
        abort(403)
    return membership


def _own(model, row_id: int, me: Membership):
    row = db.session.scalar(
        sa.select(model).where(
            model.organization_id == me.organization_id,
            model.id == row_id,
            model.instructor_id == me.id,
        )
    )
    if row is None:
        abort(404)
    return row


class TeachingScheduleView(BaseView):
    route_base = "/teaching/schedule"
    default_view = "index"
    served_on = "school"

    def _page(self, me: Membership, forms: dict | None = None, status: int = 200, typed_day=None):
        forms = forms or {}
        day_cal, chosen_day = day_hours.day_calendar(
            me,
            request.args,
            lambda **args: url_for("TeachingScheduleView.index", _anchor="dates", **args),
            lambda day: url_for("TeachingScheduleView.day", day=day.isoformat()),
            typed_day,
        )
        hours_form = forms.get("hours") or HoursForm(formdata=None)
        override_form = forms.get("override") or OverrideForm(formdata=None)
        for form in (hours_form, override_form):
            form.location.choices = _location_choices()
        now = clock.now()
        lessons = db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.organization_id == me.organization_id,
                Booking.instructor_id == me.id,
                Booking.status == BookingStatus.CONFIRMED.value,
                Booking.ends_at > now,
                Booking.starts_at < now + timedelta(days=UPCOMING_DAYS),
            )
            .order_by(Booking.starts_at)
        ).all()
        hours = db.session.scalars(
            sa.select(WorkingHours)
            .where(
                WorkingHours.organization_id == me.organization_id,
                WorkingHours.instructor_id == me.id,
            )
            .order_by(WorkingHours.weekday, WorkingHours.start_time)
        ).all()
        today = now.date()
        overrides = db.session.scalars(
            sa.select(HoursOverride)
            .where(
                HoursOverride.organization_id == me.organization_id,
                HoursOverride.instructor_id == me.id,
                HoursOverride.day >= today - timedelta(days=1),
            )
            .order_by(HoursOverride.day, HoursOverride.start_time)
        ).all()
        time_off = db.session.scalars(
            sa.select(TimeOff)
            .where(
                TimeOff.organization_id == me.organization_id,
                TimeOff.instructor_id == me.id,
                TimeOff.last_day >= today - timedelta(days=1),
            )
            .order_by(TimeOff.first_day)
        ).all()
        page = self.render_template(
            "portal/schedule.html",
            me=me,
            lessons=lessons,
            hours=hours,
            overrides=overrides,
            time_off=time_off,
            hours_form=hours_form,
            override_form=override_form,
            time_off_form=forms.get("time_off") or TimeOffForm(formdata=None),
            meeting_form=forms.get("meeting")
            or MeetingLinkForm(formdata=None, meeting_link=me.meeting_link),
            delete_form=DeleteForm(),
            upcoming_days=UPCOMING_DAYS,
            day_cal=day_cal,
            day_hours=chosen_day,
            locations=_location_choices(),
            modes=list(LocationMode),
        )
        return page, status

    @expose("/")
    @has_access
    def index(self):
        return self._page(_me())

    def _save(self, me: Membership, form, key: str, row, problems):
        """Validate the form, then the rules; save or re-show the page with the reasons."""
        if not form.validate():
            for field, errors in form.errors.items():
                flash(
                    f"{getattr(form, field).label.text if field in form else field}: {errors[0]}",
                    "danger",
                )
            return self._page(me, {key: form}, 400)
        found = problems(row)
        if found:
            for problem in found:
                flash(problem, "danger")
            return self._page(me, {key: form}, 400)
        # The admin panels' service: lessons this hits are listed with a choice each, and the
        # row is saved together with what was chosen, or not at all.
        try:
            decisions, message = disruptions.decisions_from_form(request.form)
            outcome = disruptions.save_change(row, actor=me, decisions=decisions, message=message)
        except disruptions.LessonsHit as hit:
            db.session.rollback()
            g.lessons_hit, g.lesson_choices, g.lessons_hit_form = hit.hits, request.form, key
            flash(str(hit), "warning")
            return self._page(me, {key: form}, 422)
        except disruptions.DecisionProblem as problem:
            db.session.rollback()
            flash(str(problem), "danger")
            return self._page(me, {key: form}, 422)
        flash(" ".join(filter(None, ["Saved.", outcome.in_words()])), "success")
        return redirect(url_for("TeachingScheduleView.index"))

    def _window_values(self, form) -> dict:
        return {
            "start_time": form.start_time.data,
            "end_time": form.end_time.data,
            "location_id": form.location.data or None,
            "location_modes": list(form.modes.data),
        }

    @expose("/hours", methods=["POST"])
    @has_access
    def add_hours(self):
        me = _me()
        form = HoursForm()
        form.location.choices = _location_choices()
        row = WorkingHours(
            organization_id=me.organization_id,
            instructor_id=me.id,
            weekday=form.weekday.data,
            effective_from=form.effective_from.data,
            effective_until=form.effective_until.data,
            **self._window_values(form),
        )
        row.instructor = me
        return self._save(me, form, "hours", row, weekly_hours_problems)

    @expose("/overrides", methods=["POST"])
    @has_access
    def add_override(self):
        me = _me()
        form = OverrideForm()
        form.location.choices = _location_choices()
        row = HoursOverride(
            organization_id=me.organization_id,
            instructor_id=me.id,
            day=form.day.data,
            **self._window_values(form),
        )
        row.instructor = me
        return self._save(me, form, "override", row, override_problems)

    @expose("/day/<day>", methods=["POST"])
    @has_access
    def day(self, day: str):
        """One date picked on the small calendar: its own hours, or not teaching."""
        me = _me()
        location_ids = {i for i, _ in _location_choices() if i}
        answer = day_hours.submit_day(me, day, request.form, location_ids, actor=me)
        if answer.status == 404:
            abort(404)
        if answer.status >= 400:
            g.lessons_hit, g.lesson_choices = answer.lessons_hit, request.form
            g.lessons_hit_form = "day"
            for message in answer.messages:
                flash(message, "warning" if answer.lessons_hit else "danger")
            return self._page(_me(), status=answer.status, typed_day=answer.typed)
        flash(answer.messages[0], "success")
        chosen = day_hours.day_of(day)
        return redirect(
            url_for(
                "TeachingScheduleView.index",
                month=f"{chosen:%Y-%m}",
                day=chosen.isoformat(),
                _anchor="dates",
            )
        )

    @expose("/time-off", methods=["POST"])
    @has_access
    def add_time_off(self):
        me = _me()
        form = TimeOffForm()
        row = TimeOff(
            organization_id=me.organization_id,
            instructor_id=me.id,
            first_day=form.first_day.data,
            last_day=form.last_day.data,
            reason=form.reason.data or None,
        )
        return self._save(
            me, form, "time_off", row, lambda r: day_range_problems(r.first_day, r.last_day)
        )

    @expose("/meeting-link", methods=["POST"])
    @has_access
    def set_meeting_link(self):
        me = _me()
        form = MeetingLinkForm()
        if not form.validate():
            flash(f"Meeting link: {form.meeting_link.errors[0]}", "danger")
            return self._page(me, {"meeting": form}, 400)
        me.meeting_link = (form.meeting_link.data or "").strip() or None
        db.session.commit()
        flash("Saved: online lessons booked from now on use this link.", "success")
        return redirect(url_for("TeachingScheduleView.index"))

    @expose("/<string:kind>/<int:row_id>/delete", methods=["POST"])
    @has_access
    def delete(self, kind: str, row_id: int):
        me = _me()
        model = {"hours": WorkingHours, "overrides": HoursOverride, "time-off": TimeOff}.get(kind)
        if model is None or not DeleteForm().validate():
            abort(404 if model is None else 400)
        row = _own(model, row_id, me)
        if model is not TimeOff:
            try:
                disruptions.refuse_removal_if_hits(row)
            except ValueError as problem:
                flash(str(problem), "danger")
                return self._page(me, status=409)
            row = _own(model, row_id, me)
        db.session.delete(row)
        db.session.commit()
        flash("Removed.", "success")
        return redirect(url_for("TeachingScheduleView.index"))


def register(appbuilder) -> None:
    appbuilder.add_view(
        TeachingScheduleView, "My schedule", icon="fa-calendar", category="Teaching"
    )
