"""Teaching portal: what an instructor is qualified for (schedule and iCal come later)."""

from __future__ import annotations

from flask import abort
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from app.extensions import db
from app.models import AppointmentType, InstructorQualification, MembershipRole
from app.tenancy import current_membership


class TeachingPortalView(BaseView):
    route_base = "/teaching"
    default_view = "index"
    served_on = "school"

    @expose("/")
    @has_access
    def index(self):
        membership = current_membership()
        if membership is None or membership.role != MembershipRole.INSTRUCTOR:
            abort(403)
        qualifications = db.session.execute(
            select(InstructorQualification, AppointmentType)
            .join(
                AppointmentType, AppointmentType.id == InstructorQualification.appointment_type_id
            )
            .where(InstructorQualification.instructor_id == membership.id)
            .order_by(AppointmentType.name)
        ).all()
        return self.render_template(
            "portal/index.html", membership=membership, qualifications=qualifications
        )


def register(appbuilder) -> None:
    appbuilder.add_view(
        TeachingPortalView, "My teaching", icon="fa-graduation-cap", category="Teaching"
    )
