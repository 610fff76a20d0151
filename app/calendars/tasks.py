"""Calendar tasks for Celery beat: read instructors' own calendars for their busy times.

Thin: list the calendars (every school, so on the privileged connection), then read each one
as its school's tenant through ``busy.refresh_calendar``. Scheduled in
``CELERY_BEAT_SCHEDULE`` (config.py) as ``calendars.refresh_external_calendars``.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from app.extensions import db
from app.tasks import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name="calendars.refresh_external_calendars")
def refresh_external_calendars() -> int:
    from app.models import ExternalCalendar
    from app.tenancy import privileged

    with privileged():
        due = db.session.execute(
            sa.select(ExternalCalendar.id, ExternalCalendar.organization_id).order_by(
                ExternalCalendar.id
            )
        ).all()
        db.session.commit()
    for calendar_id, organization_id in due:
        refresh_external_calendar(calendar_id, organization_id)
    log.info("Read %d instructor calendar(s)", len(due))
    return len(due)


@celery_app.task(name="calendars.refresh_external_calendar")
def refresh_external_calendar(calendar_id: int, organization_id: int) -> str | None:
    """Read one calendar now (also queued when an address is saved); returns its error."""
    from app.calendars.busy import refresh_calendar
    from app.tenancy import tenant

    with tenant(organization_id):
        calendar = refresh_calendar(calendar_id)
        return None if calendar is None else calendar.last_error
