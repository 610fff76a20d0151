"""The front page: the platform's landing page, a school admin's dashboard, or a school's
home with links by role."""

from __future__ import annotations

from flask import g
from flask_appbuilder import IndexView, expose

from app.models import MembershipRole
from app.tenancy import current_membership


class HomeView(IndexView):
    route_base = ""

    @expose("/")
    def index(self):
        if g.get("organization") is None:
            return self.render_template("platform/landing.html")
        membership = current_membership()
        if membership is not None and membership.role == MembershipRole.ADMIN:
            from app.booking.dashboard import school_dashboard

            return self.render_template("school/dashboard.html", dash=school_dashboard())
        return self.render_template("school/home.html")
