"""Admin panels for appointment setup, people and the school's settings."""

from __future__ import annotations

from flask_appbuilder.models.sqla.filters import FilterEqual
from sqlalchemy import func, select
from wtforms import PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from app.admin.fields import location_modes_field
from app.extensions import db
from app.models import (
    AppointmentType,
    InstructorQualification,
    Location,
    Membership,
    MembershipRole,
    Organization,
)
from app.people import add_person, find_person, normalise_email
from app.platform.views import valid_time_zone
from app.tenancy import current_org_id
from app.tenancy.views import TenantModelView, TenantSQLAInterface


class LocationView(TenantModelView):
    datamodel = TenantSQLAInterface(Location)
    list_columns = ["name", "address", "active"]
    search_columns = ["name", "address", "active"]
    add_columns = edit_columns = ["name", "address", "notes", "active"]
    show_columns = ["name", "address", "notes", "active"]
    validators_columns = {"name": [DataRequired(), Length(max=120)]}


class AppointmentTypeView(TenantModelView):
    datamodel = TenantSQLAInterface(AppointmentType)
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
        "price_cents",
        "currency",
        "capacity",
        "location_modes",
        "locations",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "slot_step_minutes",
        "min_notice_hours",
        "max_advance_days",
        "cancellation_cutoff_hours",
        "color",
        "active",
    ]
    show_columns = add_columns
    label_columns = {
        "duration_minutes": "Duration (minutes)",
        "price_cents": "Price (cents)",
        "price_display": "Price",
        "capacity": "Capacity (1 = private lesson)",
        "modes_display": "Location modes",
        "locations": "Offered at (in person)",
        "buffer_before_minutes": "Buffer before (minutes)",
        "buffer_after_minutes": "Buffer after (minutes)",
        "slot_step_minutes": "Start times every (minutes)",
        "min_notice_hours": "Minimum notice (hours)",
        "max_advance_days": "Bookable up to (days ahead)",
        "cancellation_cutoff_hours": "Cancellation cutoff (hours)",
    }
    add_form_extra_fields = edit_form_extra_fields = {"location_modes": location_modes_field()}
    validators_columns = {
        "name": [DataRequired(), Length(max=120)],
        "duration_minutes": [
            InputRequired(message="Enter a duration in minutes."),
            NumberRange(5, 480, "A lesson lasts 5 to 480 minutes."),
        ],
        "price_cents": [NumberRange(0, None, "The price cannot be negative.")],
        "currency": [Regexp(r"^[A-Z]{3}$", message="Use a 3-letter currency code such as USD.")],
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
        "color": [Regexp(r"^#[0-9a-fA-F]{6}$", message="Use a colour like #3b82f6.")],
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


def _instructor_memberships(query):
    return query.filter(Membership.role == MembershipRole.INSTRUCTOR)


class InstructorQualificationView(TenantModelView):
    datamodel = TenantSQLAInterface(InstructorQualification)
    list_title = "Instructor qualifications"
    list_columns = ["instructor", "appointment_type", "price_override_cents"]
    search_columns = ["instructor", "appointment_type"]
    add_columns = edit_columns = show_columns = [
        "instructor",
        "appointment_type",
        "price_override_cents",
    ]
    label_columns = {"price_override_cents": "Own price (cents, optional)"}
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "instructor": [["role", FilterEqual, MembershipRole.INSTRUCTOR]],
    }
    validators_columns = {
        "instructor": [DataRequired(message="Choose an instructor.")],
        "appointment_type": [DataRequired(message="Choose an appointment type.")],
        "price_override_cents": [Optional(), NumberRange(0, None, "The price cannot be negative.")],
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
    """Instructors and students are memberships; adding one finds or creates the person."""

    role: MembershipRole
    datamodel = TenantSQLAInterface(Membership)
    list_columns = ["full_name", "email", "active", "created_at"]
    show_columns = ["full_name", "email", "role", "active", "created_at"]
    add_columns = ["first_name", "last_name", "person_email", "password", "active"]
    edit_columns = ["active"]
    search_columns = ["active"]
    label_columns = {"full_name": "Name", "created_at": "Member since"}
    add_form_extra_fields = {
        "first_name": StringField("First name", validators=[DataRequired(), Length(max=64)]),
        "last_name": StringField("Last name", validators=[DataRequired(), Length(max=64)]),
        "person_email": StringField("Email", validators=[DataRequired(), Email(), Length(max=254)]),
        "password": PasswordField(
            "Initial password",
            validators=[Optional(), Length(min=8, max=128)],
            description="Leave empty for an existing CourseCove account.",
        ),
    }

    def __init__(self, **kwargs):
        self.base_filters = [["role", FilterEqual, self.role]]
        super().__init__(**kwargs)

    def pre_add(self, item: Membership) -> None:
        # populate_obj left the extra fields on the item as plain attributes.
        email = normalise_email(item.person_email)
        user = find_person(email)
        if user is None:
            # Created in the same transaction as the membership: both land or neither does.
            user = add_person(email, item.first_name, item.last_name, password=item.password)
        elif db.session.scalar(
            select(Membership.id).where(
                Membership.organization_id == current_org_id(),
                Membership.user_id == user.id,
            )
        ):
            raise ValueError(f"{email} is already a member of this school.")
        item.user = user
        item.role = self.role


class InstructorView(_PeopleView):
    role = MembershipRole.INSTRUCTOR
    list_title = "Instructors"


class StudentView(_PeopleView):
    role = MembershipRole.STUDENT
    list_title = "Students"


class SchoolSettingsView(TenantModelView):
    """The school's own row: name, time zone, contact email. Subdomain is the platform's."""

    datamodel = TenantSQLAInterface(Organization)
    list_title = "School settings"
    list_columns = ["name", "subdomain", "time_zone", "contact_email"]
    show_columns = ["name", "subdomain", "time_zone", "contact_email", "active"]
    edit_columns = ["name", "time_zone", "contact_email"]
    base_permissions = ["can_list", "can_show", "can_edit"]
    validators_columns = {
        "name": [DataRequired(), Length(max=120)],
        "time_zone": [DataRequired(), valid_time_zone],
        "contact_email": [Optional(), Email()],
    }


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
    appbuilder.add_view(SchoolSettingsView, "Settings", icon="fa-cog", category="School")
