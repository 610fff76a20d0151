"""Celery tasks of the identity sync: thin, they load, call the service and log the outcome."""

from __future__ import annotations

from app.identity import retention, service
from app.identity.queue import PROCESS_TASK
from app.tasks import celery_app
from app.tenancy import privileged


@celery_app.task(name=PROCESS_TASK, acks_late=True, ignore_result=True)
def process_webhook_event(event_id: int) -> str:
    """One attempt at a recorded event. Idempotent: a second copy of the message finds the
    event claimed or finished and does nothing (``acks_late`` may redeliver after a crash)."""
    with privileged():
        return service.run_queued(event_id).status


@celery_app.task(name="identity.sweep_pending_webhooks", ignore_result=True)
def sweep_pending_webhooks() -> int:
    """Beat, every 30 s: re-enqueue events that should have reached a worker a minute ago."""
    with privileged():
        return service.sweep()


@celery_app.task(name="identity.cut_old_webhook_payloads", ignore_result=True)
def cut_old_webhook_payloads() -> int:
    """Beat, hourly: completed deliveries lose their payload after the retention period."""
    with privileged():
        return retention.cut_old_payloads()
