"""Booking tasks for Celery beat: lesson reminders.

Thin: work out "now", call the notices service, log the outcome. The schedule lives in
``CELERY_BEAT_SCHEDULE`` (config.py) as ``booking.send_lesson_reminders``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from app import clock
from app.tasks import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name="booking.send_lesson_reminders")
def send_lesson_reminders() -> int:
    from app.booking.notices import send_due_reminders

    lead = timedelta(hours=float(current_app.config.get("REMINDER_LEAD_HOURS", 24)))
    sent = send_due_reminders(clock.now(), lead)
    log.info("Sent %d lesson reminder(s)", sent)
    return sent
