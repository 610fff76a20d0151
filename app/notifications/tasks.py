"""Celery tasks of the notification pipeline: thin, they call the services and log.

Schedules live in ``CELERY_BEAT_SCHEDULE`` (config.py)."""

from __future__ import annotations

import logging

from app import clock
from app.notifications import delivery, reminders
from app.notifications.outbox import SEND_TASK
from app.tasks import celery_app
from app.tenancy import privileged

log = logging.getLogger(__name__)


@celery_app.task(name=SEND_TASK, acks_late=True, ignore_result=True)
def send_notifications(ids: list[int]) -> int:
    """Send what is still unsent of these rows. Idempotent: a redelivered copy finds them
    claimed or sent and does nothing."""
    with privileged():
        report = delivery.deliver(ids)
    log.info(
        "Notifications: %d sent, %d to retry, %d failed, %d already handled",
        len(report.sent),
        sum(len(v) for v in report.retrying.values()),
        len(report.failed),
        report.skipped,
    )
    return len(report.sent)


@celery_app.task(name="notifications.sweep", ignore_result=True)
def sweep_notifications() -> int:
    """Beat, every 30 s: publish rows never published, overdue, or left by a dead worker."""
    with privileged():
        return delivery.sweep()


@celery_app.task(name="notifications.queue_due_reminders", ignore_result=True)
def queue_due_reminders() -> int:
    """Beat, every minute: claim the reminders now due and write their e-mails."""
    with privileged():
        report = reminders.queue_due(clock.now())
    log.info(
        "Reminders: %d queued, %d skipped, %d cancelled %s",
        report.queued,
        report.skipped,
        report.cancelled,
        report.notes or "",
    )
    return report.queued
