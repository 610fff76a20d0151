"""Booking: the students' booking pages, the availability API, the booking service, admin
panels for availability and bookings. Its e-mails and reminders are ``app.notifications``.

The scheduling rules themselves are in ``app.scheduling`` (pure Python); this package loads
rows for it (``calendar``), writes bookings (``service``) and shows the results.
"""

from __future__ import annotations

from flask import current_app


def register(appbuilder) -> None:
    """Admin panels, the teaching portal's schedule, and the booking blueprints."""
    from app.booking import accounts, admin  # noqa: F401  (routes register)
    from app.booking.api import api
    from app.booking.views import bp
    from app.portal import schedule

    admin.register(appbuilder)
    schedule.register(appbuilder)
    appbuilder.add_link(
        "Book a lesson", href="/book/", icon="fa-calendar-plus-o", category="Lessons"
    )
    appbuilder.add_link("My bookings", href="/bookings/", icon="fa-list", category="Lessons")
    flask_app = current_app._get_current_object()  # create_app registers inside its context
    flask_app.register_blueprint(bp)
    flask_app.register_blueprint(api)
