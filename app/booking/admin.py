"""School admin panels for availability and bookings (all tenant-scoped FAB views).

Bookings are listed and inspected here; they are made, moved and cancelled only through the
booking service (the booking pages, where an admin books on a student's behalf), never by
editing rows, so the locks, checks and history always apply.
"""

from __future__ import annotations

from flask import flash, g, request
from flask_appbuilder.fieldwidgets import Select2ManyWidget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.widgets import FormWidget
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload
from wtforms import SelectField, SelectMultipleField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.admin.fields import school_time_field
from app.booking import disruptions
from app.booking.hours import day_range_problems, override_problems, weekly_hours_problems
from app.extensions import db
from app.models import (
    Booking,
    BookingAttendee,
    BookingChange,
    ChangeAction,
    HoursOverride,
    LocationMode,
    MembershipRole,
    SchoolClosure,
    TimeOff,
    WorkingHours,
)
from app.models.scheduling import WEEKDAYS
from app.school_time import shown_moment
from app.tenancy import current_membership
from app.tenancy.views import TenantModelView, TenantSQLAInterface

INSTRUCTORS_ONLY = {"instructor": [["role", FilterEqual, MembershipRole.INSTRUCTOR]]}


def modes_field() -> SelectMultipleField:
    return SelectMultipleField(
        "Ways of teaching",
        choices=[(m.value, m.label) for m in LocationMode],
        default=[m.value for m in LocationMode],
        widget=Select2ManyWidget(),
        validators=[DataRequired(message="Choose at least one way of teaching.")],
        description="E.g. only “Online” for an online-only afternoon.",
    )


def weekday_field() -> SelectField:
    return SelectField(
        "Weekday", coerce=int, choices=list(enumerate(WEEKDAYS)), validators=[InputRequired()]
    )


def booking_in_words(booking: Booking | None) -> str:
    if booking is None:
        return ""
    when = shown_moment(booking.starts_at)
    return f"{booking.appointment_type} with {booking.instructor}, {when}"


def status_in_words(status: str | None) -> str:
    return status.capitalize() if status else ""


def _refuse(problems: list[str]) -> None:
    if problems:
        raise ValueError(" ".join(problems))


class LessonsHitFormWidget(FormWidget):
    """FAB's form with the lessons a change hits (and a choice for each) above the buttons,
    so what was typed stays in the form while the admin decides."""

    template = "booking/form_with_lessons_hit.html"


class ChecksBookedLessons:
    """Saving goes through ``app.booking.disruptions``: the lessons the change hits are listed
    with a choice each, and the row is saved together with what was chosen, or not at all."""

    add_widget = edit_widget = LessonsHitFormWidget

    def rule_problems(self, item) -> list[str]:
        raise NotImplementedError

    def _save_with_lessons(self, item) -> None:
        _refuse(self.rule_problems(item))
        try:
            decisions, message = disruptions.decisions_from_form(request.form)
            outcome = disruptions.save_change(
                item, actor=current_membership(), decisions=decisions, message=message
            )
        except disruptions.LessonsHit as hit:
            g.lessons_hit = hit.hits
            g.lesson_choices = request.form
            raise
        if outcome.in_words():
            flash(outcome.in_words(), "info")

    def pre_add(self, item) -> None:
        self._save_with_lessons(item)

    def pre_update(self, item) -> None:
        self._save_with_lessons(item)


class WorkingHoursView(ChecksBookedLessons, TenantModelView):
    datamodel = TenantSQLAInterface(WorkingHours)
    item_name = "Working hours"
    list_title = "Working hours"
    list_columns = [
        "instructor",
        "weekday_name",
        "hours_display",
        "location",
        "modes_display",
        "effective_from",
        "effective_until",
    ]
    base_order = ("instructor_id", "asc")
    search_columns = ["instructor", "weekday", "location"]
    add_columns = edit_columns = [
        "instructor",
        "weekday",
        "start_time",
        "end_time",
        "location",
        "location_modes",
        "effective_from",
        "effective_until",
    ]
    show_columns = list_columns
    label_columns = {
        "weekday_name": "Weekday",
        "hours_display": "Hours",
        "modes_display": "Ways of teaching",
        "location": "Location (in person)",
        "effective_from": "From (optional)",
        "effective_until": "Until (optional)",
    }
    description_columns = {"location": "Leave empty if not tied to one place."}
    add_form_query_rel_fields = edit_form_query_rel_fields = INSTRUCTORS_ONLY
    add_form_extra_fields = edit_form_extra_fields = {
        "weekday": weekday_field(),
        "start_time": school_time_field("Start"),
        "end_time": school_time_field("End"),
        "location_modes": modes_field(),
    }
    validators_columns = {"instructor": [DataRequired(message="Choose an instructor.")]}

    def rule_problems(self, item: WorkingHours) -> list[str]:
        return weekly_hours_problems(item)

    def pre_delete(self, item: WorkingHours) -> None:
        disruptions.refuse_removal_if_hits(item)

    def pre_delete_all(self, items: list[WorkingHours]) -> None:
        disruptions.refuse_removal_if_hits(*items)


class HoursOverrideView(ChecksBookedLessons, TenantModelView):
    datamodel = TenantSQLAInterface(HoursOverride)
    item_name = "Date override"
    list_title = "Different hours on a date"
    list_columns = ["instructor", "day", "hours_display", "location", "modes_display"]
    base_order = ("day", "desc")
    search_columns = ["instructor", "day", "location"]
    add_columns = edit_columns = [
        "instructor",
        "day",
        "start_time",
        "end_time",
        "location",
        "location_modes",
    ]
    show_columns = list_columns
    label_columns = {
        "day": "Date",
        "hours_display": "Hours",
        "modes_display": "Ways of teaching",
        "location": "Location (in person)",
    }
    description_columns = {
        "day": "These hours replace the weekly hours of that date. For a day off, use Time off."
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = INSTRUCTORS_ONLY
    add_form_extra_fields = edit_form_extra_fields = {
        "start_time": school_time_field("Start"),
        "end_time": school_time_field("End"),
        "location_modes": modes_field(),
    }
    validators_columns = {
        "instructor": [DataRequired(message="Choose an instructor.")],
        "day": [DataRequired(message="Give the date.")],
    }

    def rule_problems(self, item: HoursOverride) -> list[str]:
        return override_problems(item)

    def pre_delete(self, item: HoursOverride) -> None:
        disruptions.refuse_removal_if_hits(item)

    def pre_delete_all(self, items: list[HoursOverride]) -> None:
        disruptions.refuse_removal_if_hits(*items)


class TimeOffView(ChecksBookedLessons, TenantModelView):
    datamodel = TenantSQLAInterface(TimeOff)
    item_name = "Time off"
    list_title = "Time off"
    list_columns = ["instructor", "days_display", "reason"]
    base_order = ("first_day", "desc")
    search_columns = ["instructor", "first_day", "last_day"]
    add_columns = edit_columns = ["instructor", "first_day", "last_day", "reason"]
    show_columns = list_columns
    label_columns = {"days_display": "Days", "first_day": "First day", "last_day": "Last day"}
    add_form_query_rel_fields = edit_form_query_rel_fields = INSTRUCTORS_ONLY
    validators_columns = {
        "instructor": [DataRequired(message="Choose an instructor.")],
        "first_day": [DataRequired(message="Give the first day.")],
        "last_day": [DataRequired(message="Give the last day.")],
        "reason": [Optional(), Length(max=200)],
    }

    def rule_problems(self, item: TimeOff) -> list[str]:
        return day_range_problems(item.first_day, item.last_day)


class SchoolClosureView(ChecksBookedLessons, TenantModelView):
    datamodel = TenantSQLAInterface(SchoolClosure)
    item_name = "School closure"
    list_title = "School closures"
    list_columns = ["name", "days_display"]
    base_order = ("first_day", "desc")
    search_columns = ["name", "first_day", "last_day"]
    add_columns = edit_columns = ["name", "first_day", "last_day"]
    show_columns = list_columns
    label_columns = {"days_display": "Days", "first_day": "First day", "last_day": "Last day"}
    validators_columns = {
        "name": [DataRequired(), Length(max=120)],
        "first_day": [DataRequired(message="Give the first day.")],
        "last_day": [DataRequired(message="Give the last day.")],
    }

    def rule_problems(self, item: SchoolClosure) -> list[str]:
        return day_range_problems(item.first_day, item.last_day)


class BookingChangeView(TenantModelView):
    """History: read-only."""

    datamodel = TenantSQLAInterface(BookingChange)
    item_name = "Booking change"
    list_title = "Booking history"
    base_permissions = ["can_list", "can_show"]
    base_order = ("created_at", "desc")
    list_columns = [
        "created_at",
        "action_label",
        "booking",
        "attendee",
        "from_starts_at",
        "to_starts_at",
        "actor_display",
        "details",
    ]
    show_columns = list_columns
    add_columns = edit_columns = ["details"]
    search_columns = ["action", "created_at"]
    label_columns = {
        "created_at": "When",
        "action_label": "What",
        "attendee": "Seat",
        "from_starts_at": "From",
        "to_starts_at": "To",
        "actor_display": "By",
    }
    formatters_columns = {
        "booking": booking_in_words,
        "attendee": lambda seat: seat.student.full_name if seat else "",
    }


def _attendee_links(attendees) -> Markup:
    return Markup(", ").join(
        Markup('<a href="/bookings/{}">{}</a>{}').format(
            a.id, escape(a.student.full_name), "" if a.is_confirmed else " (cancelled)"
        )
        for a in attendees
    )


class BookingInterface(TenantSQLAInterface):
    """Bookings with everything the list shows loaded in a few queries: lazily, a page of 25
    bookings was ~100 queries (type, instructor, place, each student), 3/4 of its time."""

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        if self.obj is not Booking:  # FAB builds its related models' interfaces from this class
            return query
        return query.options(
            selectinload(Booking.appointment_type),
            selectinload(Booking.instructor),
            selectinload(Booking.location),
            selectinload(Booking.attendees).selectinload(BookingAttendee.student),
        )


class BookingView(TenantModelView):
    """Every booking of the school. Manage a student's booking from its own page."""

    datamodel = BookingInterface(Booking)
    item_name = "Booking"
    list_title = "Bookings"
    base_permissions = ["can_list", "can_show", "can_edit"]
    base_order = ("starts_at", "desc")
    list_columns = [
        "starts_at",
        "appointment_type",
        "instructor",
        "where_display",
        "attendees",
        "seats_display",
        "status",
    ]
    show_columns = [
        "starts_at",
        "ends_at",
        "appointment_type",
        "instructor",
        "where_display",
        "meeting_link",
        "attendees",
        "seats_display",
        "status",
        "created_at",
        "created_by",
        "cancelled_at",
        "cancelled_by",
        "cancellation_reason",
    ]
    # No add form (bookings are made on the booking pages); FAB builds one anyway, so keep it
    # to a column it can render.
    add_columns = edit_columns = ["meeting_link"]
    search_columns = ["starts_at", "appointment_type", "instructor", "status", "location_mode"]
    label_columns = {
        "starts_at": "Starts",
        "ends_at": "Ends",
        "where_display": "Where",
        "attendees": "Students",
        "seats_display": "Places taken",
        "created_at": "Booked at",
        "created_by": "Booked by",
    }
    formatters_columns = {"attendees": _attendee_links, "status": status_in_words}
    validators_columns = {"meeting_link": [Optional(), Length(max=500)]}
    related_views = [BookingChangeView]
    # The search form's instructor choices: instructors, not every member of the school.
    search_form_query_rel_fields = INSTRUCTORS_ONLY

    def pre_update(self, item: Booking) -> None:
        actor = current_membership()
        db.session.add(
            BookingChange(
                organization_id=item.organization_id,
                booking_id=item.id,
                actor_id=actor.id if actor else None,
                action=ChangeAction.DETAILS_CHANGED.value,
                details="Meeting link changed",
            )
        )


def register(appbuilder) -> None:
    appbuilder.add_view(
        BookingView, "All bookings", icon="fa-calendar-check-o", category="Bookings"
    )
    appbuilder.add_link("Book for a student", href="/book/", icon="fa-plus", category="Bookings")
    appbuilder.add_view(
        BookingChangeView, "Booking history", icon="fa-history", category="Bookings"
    )
    appbuilder.add_view(
        WorkingHoursView, "Working hours", icon="fa-clock-o", category="Availability"
    )
    from app.booking import week_hours

    week_hours.register(appbuilder)
    appbuilder.add_view(
        HoursOverrideView, "Date overrides", icon="fa-calendar", category="Availability"
    )
    appbuilder.add_view(TimeOffView, "Time off", icon="fa-plane", category="Availability")
    appbuilder.add_view(
        SchoolClosureView, "School closures", icon="fa-ban", category="Availability"
    )
