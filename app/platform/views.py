"""Platform admin: every school. Runs on the privileged connection (see tenancy.requests)."""

from __future__ import annotations

from flask import g, redirect, url_for
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.admin.fields import time_zone_field
from app.models import Organization
from app.panels import PanelView
from app.tenancy.hosts import subdomain_problem


def valid_subdomain(form, field) -> None:
    problem = subdomain_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class OrganizationView(PanelView, ModelView):
    """Schools. Adding one also makes its first admin: the address gets an invitation."""

    served_on = "platform"
    datamodel = SQLAInterface(Organization)
    item_name = "School"
    add_title = "New school and its first admin"
    list_columns = ["name", "subdomain", "time_zone", "contact_email", "active", "created_at"]
    search_columns = ["name", "subdomain", "active"]
    add_columns = [
        "name",
        "subdomain",
        "time_zone",
        "contact_email",
        "admin_email",
        "admin_first_name",
        "admin_last_name",
        "active",
    ]
    edit_columns = ["name", "subdomain", "time_zone", "contact_email", "active"]
    edit_form_extra_fields = {"time_zone": time_zone_field()}
    show_columns = list_columns
    label_columns = {"subdomain": "Subdomain", "created_at": "Created"}
    add_form_extra_fields = {
        "time_zone": time_zone_field(),
        "admin_email": StringField(
            "First admin's e-mail",
            validators=[DataRequired(), Email(), Length(max=254)],
            description="They get an invitation link to choose their password and run the "
            "school (an existing CourseCove account is told it was added).",
        ),
        "admin_first_name": StringField(
            "First admin's first name", validators=[DataRequired(), Length(max=64)]
        ),
        "admin_last_name": StringField(
            "First admin's last name", validators=[DataRequired(), Length(max=64)]
        ),
    }
    label_columns = {
        "subdomain": "Address (subdomain)",
        "contact_email": "Contact e-mail",
        "created_at": "Created",
    }
    validators_columns = {
        "name": [DataRequired(), Length(max=120)],
        "subdomain": [DataRequired(), valid_subdomain],
        "contact_email": [Optional(), Email()],
    }

    # "<school> added. Invitation sent to …" replaces the plain "School added."
    @property
    def add_row_message(self) -> str:
        return g.pop("school_added_message", None) or self._added_message

    @add_row_message.setter
    def add_row_message(self, message: str) -> None:
        self._added_message = message

    def post_add(self, item: Organization) -> None:
        from app.accounts.service import create_school_admin

        done = create_school_admin(
            item,
            item.admin_email,
            item.admin_first_name,
            item.admin_last_name,
            invited_by=current_user._get_current_object(),
        )
        g.added_school_id = item.id
        g.school_added_message = f"{item.name} added. {done.message}"

    def post_add_redirect(self):
        # The new school's own page: the list would show whichever school sorts first.
        school_id = g.pop("added_school_id", None)
        if school_id is None:
            return super().post_add_redirect()
        return redirect(url_for(f"{self.endpoint}.show", pk=school_id))


def register(appbuilder) -> None:
    appbuilder.add_view(OrganizationView, "Schools", icon="fa-university", category="Platform")
