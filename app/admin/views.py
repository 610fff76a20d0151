"""Admin panels for appointment setup, people and the school's settings."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from app.accounts import service as accounts
from app.accounts.forms import ButtonForm
from app.admin.fields import (
    colour_field,
    currency_field,
    location_modes_field,
    meeting_link_validators,
    money_field,
    time_format_field,
    time_zone_field,
)
from app.extensions import db
from app.models import (
    AppointmentType,
    InstructorQualification,
    Location,
    Membership,
    MembershipRole,
    Organization,
)
from app.notifications import reminders
from app.notifications.reminders import valid_reminder_hours
from app.panels import colour_swatch
from app.scheduling.time_format import TimeFormat
from app.tenancy import current_org, current_org_id
from app.tenancy.views import TenantModelView, TenantSQLAInterface

NO_COLOUR_YET = "#222222"  # what the colour box shows before a school picks its colour


class LocationView(TenantModelView):
    datamodel = TenantSQLAInterface(Location)
    item_name = "Location"
    list_columns = ["name", "address", "active"]
    search_columns = ["name", "address", "active"]
    add_columns = edit_columns = ["name", "address", "notes", "active"]
    show_columns = ["name", "address", "notes", "active"]
    validators_columns = {"name": [DataRequired(), Length(max=120)]}


class AppointmentTypeView(TenantModelView):
    datamodel = TenantSQLAInterface(AppointmentType)
    item_name = "Appointment type"
    list_title = "Appointment types"
    list_columns = [
        "name",
        "duration_minutes",
        "price_display",
        "capacity",
        "modes_display",
        "active",
    ]
    search_columns = ["name", "capacity", "active", "locations"]
    add_columns = edit_columns = [
        "name",
        "description",
        "duration_minutes",
        "price",
        "currency",
        "capacity",
        "location_modes",
        "locations",
        "meeting_link",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "slot_step_minutes",
        "min_notice_hours",
        "max_advance_days",
        "cancellation_cutoff_hours",
        "reminder_hours",
        "color",
        "active",
    ]
    show_columns = [
        "name",
        "description",
        "duration_minutes",
        "price_display",
        "capacity",
        "modes_display",
        "locations",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "slot_step_minutes",
        "min_notice_hours",
        "max_advance_days",
        "cancellation_cutoff_hours",
        "reminder_hours",
        "color",
        "active",
    ]
    label_columns = {
        "duration_minutes": "Duration (minutes)",
        "price_display": "Price",
        "capacity": "Capacity (1 = private lesson)",
        "modes_display": "Location modes",
        "locations": "Offered at (in person)",
        "meeting_link": "Meeting link for online lessons (optional; else the instructor's)",
        "buffer_before_minutes": "Buffer before (minutes)",
        "buffer_after_minutes": "Buffer after (minutes)",
        "slot_step_minutes": "Start times every (minutes)",
        "min_notice_hours": "Minimum notice (hours)",
        "max_advance_days": "Bookable up to (days ahead)",
        "cancellation_cutoff_hours": "Cancellation cutoff (hours)",
        "reminder_hours": "Lesson reminders (hours before)",
        "color": "Colour",
    }
    formatters_columns = {"color": colour_swatch}
    add_form_extra_fields = edit_form_extra_fields = {
        "price": money_field("Price", description="In the currency's units, e.g. 55.00."),
        "currency": currency_field(),
        "location_modes": location_modes_field(),
        "color": colour_field(),
    }
    description_columns = {
        "reminder_hours": "Leave empty for the school's reminders (Settings), or e.g. “48, 2”, "
        "or “none” for no reminders for this type.",
    }
    validators_columns = {
        "name": [DataRequired(), Length(max=120)],
        "duration_minutes": [
            InputRequired(message="Enter a duration in minutes."),
            NumberRange(5, 480, "A lesson lasts 5 to 480 minutes."),
        ],
        "capacity": [
            InputRequired(message="Enter a capacity."),
            NumberRange(1, 500, "Capacity must be between 1 and 500."),
        ],
        "buffer_before_minutes": [NumberRange(0, 240, "Buffers are 0 to 240 minutes.")],
        "buffer_after_minutes": [NumberRange(0, 240, "Buffers are 0 to 240 minutes.")],
        "slot_step_minutes": [NumberRange(5, 240, "Start times are every 5 to 240 minutes.")],
        "min_notice_hours": [NumberRange(0, 24 * 60, "Notice is 0 hours or more.")],
        "max_advance_days": [NumberRange(1, 730, "Booking ahead is 1 to 730 days.")],
        "cancellation_cutoff_hours": [NumberRange(0, 24 * 60, "The cutoff is 0 hours or more.")],
        "meeting_link": meeting_link_validators(),
        "reminder_hours": [Optional(), valid_reminder_hours],
    }

    def _check_locations(self, item: AppointmentType) -> None:
        if item.locations and "in_person" not in item.location_modes:
            raise ValueError(
                "Locations only apply to in-person lessons; add “In person” or clear them."
            )

    def pre_add(self, item: AppointmentType) -> None:
        self._check_locations(item)

    def pre_update(self, item: AppointmentType) -> None:
        self._check_locations(item)
        item.reminder_hours = (item.reminder_hours or "").strip() or None

    def post_update(self, item: AppointmentType) -> None:
        reminders.settings_changed(item.organization_id)


def _instructor_memberships(query):
    return query.filter(Membership.role == MembershipRole.INSTRUCTOR)


class InstructorQualificationView(TenantModelView):
    datamodel = TenantSQLAInterface(InstructorQualification)
    item_name = "Qualification"
    list_title = "Instructor qualifications"
    list_columns = show_columns = ["instructor", "appointment_type", "price_override_display"]
    search_columns = ["instructor", "appointment_type"]
    add_columns = edit_columns = ["instructor", "appointment_type", "price_override"]
    label_columns = {"price_override_display": "Price"}
    add_form_extra_fields = edit_form_extra_fields = {
        "price_override": money_field(
            "Own price (optional)",
            required=False,
            description="Leave empty to charge the appointment type's price.",
        )
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "instructor": [["role", FilterEqual, MembershipRole.INSTRUCTOR]],
    }
    validators_columns = {
        "instructor": [DataRequired(message="Choose an instructor.")],
        "appointment_type": [DataRequired(message="Choose an appointment type.")],
    }

    def _check_unique_pair(self, item: InstructorQualification) -> None:
        duplicate = db.session.scalar(
            select(func.count())
            .select_from(InstructorQualification)
            .where(
                InstructorQualification.organization_id == current_org_id(),
                InstructorQualification.instructor_id == item.instructor.id,
                InstructorQualification.appointment_type_id == item.appointment_type.id,
                InstructorQualification.id != (item.id or 0),
            )
        )
        if duplicate:
            raise ValueError(f"{item.instructor} is already qualified for {item.appointment_type}.")

    def pre_add(self, item: InstructorQualification) -> None:
        self._check_unique_pair(item)

    def pre_update(self, item: InstructorQualification) -> None:
        self._check_unique_pair(item)


class _PeopleView(TenantModelView):
    """Admins, instructors and students are memberships. Adding one finds or creates the
    person and mails them (app.accounts): an invitation link to choose their own password,
    or, for an existing account, a note that they were added. No admin ever types a
    password for someone else."""

    role: MembershipRole
    datamodel = TenantSQLAInterface(Membership)
    list_columns = ["full_name", "email", "account_status", "active", "created_at"]
    show_columns = ["full_name", "email", "role", "account_status", "active", "created_at"]
    add_columns = ["first_name", "last_name", "person_email", "active"]
    edit_columns = ["active"]
    search_columns = ["active"]
    label_columns = {
        "full_name": "Name",
        "created_at": "Member since",
        "account_status": "Account",
    }
    add_form_extra_fields = {
        "first_name": StringField("First name", validators=[DataRequired(), Length(max=64)]),
        "last_name": StringField("Last name", validators=[DataRequired(), Length(max=64)]),
        "person_email": StringField(
            "Email",
            validators=[DataRequired(), Email(), Length(max=254)],
            description="They get an e-mail: an invitation link to choose their own password, "
            "or, if they already have a CourseCove account, a note that you added them.",
        ),
    }

    show_template = "admin/person_show.html"
    extra_args = {"button_form": ButtonForm}

    def __init__(self, **kwargs):
        self.base_filters = [["role", FilterEqual, self.role]]
        super().__init__(**kwargs)

    # What adding did (invited, or an existing account added and told) replaces "… added."
    @property
    def add_row_message(self) -> str:
        return g.pop("people_added_message", None) or self._added_message

    @add_row_message.setter
    def add_row_message(self, message: str) -> None:
        self._added_message = message

    def pre_add(self, item: Membership) -> None:
        # populate_obj left the extra fields on the item as plain attributes.
        try:
            done = accounts.welcome(
                current_org(),
                item.person_email,
                item.first_name,
                item.last_name,
                self.role,
                invited_by=current_user._get_current_object(),
            )
        except accounts.AccountProblem as problem:
            raise ValueError(problem.message) from problem
        item.user = done.user
        item.role = self.role
        g.people_added_message = done.message

    @expose("/resend/<pk>", methods=["POST"])
    @has_access
    @permission_name("resend")
    def resend(self, pk: str):
        """Send the invitation again (a button on the person's page; POST with a token)."""
        membership = self.datamodel.get(pk)
        if membership is None:
            abort(404)
        if not ButtonForm().validate_on_submit():
            abort(400, description="The form expired; open the page again and retry.")
        inviter = current_user._get_current_object()
        flash(accounts.resend(current_org(), membership, invited_by=inviter), "info")
        db.session.commit()
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))


class AdministratorView(_PeopleView):
    role = MembershipRole.ADMIN
    item_name = "Administrator"


class InstructorView(_PeopleView):
    role = MembershipRole.INSTRUCTOR
    item_name = "Instructor"


class StudentView(_PeopleView):
    role = MembershipRole.STUDENT
    item_name = "Student"


class SchoolSettingsView(TenantModelView):
    """The school's own row: name, time zone, contact email, lesson reminders. Subdomain is
    the platform's."""

    datamodel = TenantSQLAInterface(Organization)
    item_name = "School settings"
    list_title = show_title = edit_title = "School settings"
    list_columns = ["name", "subdomain", "time_zone", "time_format", "contact_email"]
    show_columns = [
        "name",
        "subdomain",
        "time_zone",
        "time_format",
        "brand_colour",
        "contact_email",
        "reminder_hours",
        "active",
    ]
    edit_columns = [
        "name",
        "time_zone",
        "time_format",
        "brand_colour",
        "contact_email",
        "reminder_hours",
    ]
    search_columns = ["name"]
    base_permissions = ["can_list", "can_show", "can_edit"]
    label_columns = {
        "subdomain": "Address",
        "contact_email": "Contact e-mail",
        "reminder_hours": "Lesson reminders (hours before)",
        "time_format": "Times shown as",
        "brand_colour": "Navbar colour",
    }
    description_columns = {
        "reminder_hours": "E-mail reminders before every lesson, e.g. “24, 1” (a day and an "
        "hour before), or “none”. An appointment type can have its own.",
    }
    formatters_columns = {
        "subdomain": lambda sub: f"{sub}.{current_app.config['APP_DOMAIN']}",
        "time_format": lambda value: TimeFormat(value).label,
        "brand_colour": colour_swatch,
    }
    edit_form_extra_fields = {
        "time_zone": time_zone_field(),
        "time_format": time_format_field(),
        "brand_colour": colour_field(
            "Navbar colour",
            default=NO_COLOUR_YET,
            description="The navbar of the school's pages, with its name and logo "
            "(the Logo page); its text turns white or dark to stay readable.",
        ),
    }
    validators_columns = {
        "name": [DataRequired(), Length(max=120)],
        "contact_email": [Optional(), Email()],
        "reminder_hours": [DataRequired(), valid_reminder_hours],
    }

    def pre_update(self, item: Organization) -> None:
        # A colour box always sends a colour: the one it showed for "none chosen yet" keeps
        # the pages' own navbars (FAB's dark one, the booking pages' white one).
        before = sa.inspect(item).attrs.brand_colour.history.deleted
        if item.brand_colour == NO_COLOUR_YET and before in ([None], []):
            item.brand_colour = None

    def post_update(self, item: Organization) -> None:
        reminders.settings_changed(item.id)


def register(appbuilder) -> None:
    appbuilder.add_view(
        AppointmentTypeView, "Appointment types", icon="fa-music", category="Appointment setup"
    )
    appbuilder.add_view(
        LocationView, "Locations", icon="fa-map-marker", category="Appointment setup"
    )
    appbuilder.add_view(
        InstructorQualificationView,
        "Qualifications",
        icon="fa-certificate",
        category="Appointment setup",
    )
    appbuilder.add_view(InstructorView, "Instructors", icon="fa-user", category="People")
    appbuilder.add_view(StudentView, "Students", icon="fa-users", category="People")
    appbuilder.add_view(
        AdministratorView, "Administrators", icon="fa-user-secret", category="People"
    )
    appbuilder.add_view(SchoolSettingsView, "Settings", icon="fa-cog", category="School")
