"""Handing a recorded webhook event to the Celery worker, without ever blocking for long.

Celery's default publish retries for about 0.6 s when Redis is down, which alone would spend
the fast path's budget. Here a publish gets one short try on its own connection; if it fails,
the event simply stays ``pending`` in ``webhook_events`` (the outbox) and the beat sweeper
re-enqueues it once the broker is back.
"""

from __future__ import annotations

import logging

from flask import current_app

from app.tasks import celery_app

log = logging.getLogger(__name__)

PROCESS_TASK = "identity.process_webhook_event"


def publish(event_id: int, countdown: float = 0) -> bool:
    """Enqueue ``event_id`` for the worker; ``False`` (never an exception) if the broker is away."""
    config = current_app.config
    timeout = config["WEBHOOK_PUBLISH_TIMEOUT_S"]
    try:
        with celery_app.connection_for_write(
            config["CELERY_BROKER_URL"],
            connect_timeout=timeout,
            transport_options={
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
                "max_retries": 0,
            },
        ) as connection:
            celery_app.send_task(
                PROCESS_TASK,
                args=(event_id,),
                countdown=countdown or None,
                queue=config["WEBHOOK_TASK_QUEUE"],
                connection=connection,
                retry=False,
                ignore_result=True,
            )
    except Exception as exc:  # any broker failure: the outbox row is the safety net
        log.warning(
            "Could not hand webhook event %s to Celery (%s: %s); it stays pending for the sweeper.",
            event_id,
            type(exc).__name__,
            exc,
        )
        return False
    return True
