"""Platform admin: every school. Runs on the privileged connection (see tenancy.requests)."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.models import Organization
from app.tenancy.hosts import subdomain_problem

TIME_ZONES = frozenset(available_timezones())


def valid_subdomain(form, field) -> None:
    problem = subdomain_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def valid_time_zone(form, field) -> None:
    if field.data not in TIME_ZONES:
        raise ValidationError("Choose a time zone such as America/New_York or Europe/London.")


class OrganizationView(ModelView):
    served_on = "platform"
    datamodel = SQLAInterface(Organization)
    list_title = "Schools"
    list_columns = ["name", "subdomain", "time_zone", "contact_email", "active", "created_at"]
    search_columns = ["name", "subdomain", "active"]
    add_columns = edit_columns = ["name", "subdomain", "time_zone", "contact_email", "active"]
    show_columns = list_columns
    validators_columns = {
        "name": [DataRequired(), Length(max=120)],
        "subdomain": [DataRequired(), valid_subdomain],
        "time_zone": [DataRequired(), valid_time_zone],
        "contact_email": [Optional(), Email()],
    }


def register(appbuilder) -> None:
    appbuilder.add_view(OrganizationView, "Schools", icon="fa-university", category="Platform")
