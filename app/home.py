"""The front page: the platform's landing page, or a school's home with links by role."""

from __future__ import annotations

from flask import g
from flask_appbuilder import IndexView, expose


class HomeView(IndexView):
    route_base = ""

    @expose("/")
    def index(self):
        if g.get("organization") is None:
            return self.render_template("platform/landing.html")
        return self.render_template("school/home.html")
