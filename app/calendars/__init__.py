"""Calendars: bookings rendered to iCal (``ical``), the subscription feeds, the admins' and
instructors' calendar pages, and busy times read from instructors' own calendars."""

from __future__ import annotations

from flask import current_app


def register(appbuilder) -> None:
    """The calendar pages' blueprint and their menu entries (permissions: ``FAB_ROLES``)."""
    from app.calendars import (  # noqa: F401 (their routes and tasks register)
        busy_views,
        school_views,
        tasks,
        teaching_views,
    )
    from app.calendars.views import bp

    appbuilder.add_link(
        "Booking calendar", href="/calendar/", icon="fa-calendar", category="Bookings"
    )
    appbuilder.add_link("My week", href="/teaching/week", icon="fa-calendar", category="Teaching")
    appbuilder.add_link(
        "My own calendar", href="/teaching/busy", icon="fa-user-clock", category="Teaching"
    )
    appbuilder.add_link(
        "Calendar feeds", href="/calendar/subscribe", icon="fa-rss", category="Bookings"
    )
    appbuilder.add_link(
        "My calendar feeds", href="/calendar/subscribe", icon="fa-rss", category="Teaching"
    )
    appbuilder.add_link(
        "My calendar feed", href="/calendar/subscribe", icon="fa-rss", category="Lessons"
    )
    current_app._get_current_object().register_blueprint(bp)
