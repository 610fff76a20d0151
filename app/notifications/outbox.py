"""Writing outbox rows in the caller's transaction, and handing them to Celery after commit.

``queue_email`` only adds a ``Notification`` to ``db.session``. The session remembers the
ids of the notifications it flushed; when that transaction commits, they are published to
the worker (one short try, never an exception); when it rolls back, they are forgotten
with the rows. A publish that fails (Redis down) leaves the rows ``pending`` for the beat
sweeper. Nothing here talks to a mail server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Notification, NotificationKind
from app.tasks import celery_app
from app.tenancy.session import TenantRoutingSession

log = logging.getLogger(__name__)

SEND_TASK = "notifications.send"
_FLUSHED = "coursecove_flushed_notifications"


def queue_email(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    organization_id: int | None = None,
    kind: str = NotificationKind.ACCOUNT.value,
    reply_to: str | None = None,
    calendar: str | None = None,
    calendar_method: str | None = None,
    attendee_id: int | None = None,
) -> Notification:
    """Queue one e-mail in the caller's transaction; it is sent after the commit.

    ``organization_id`` is the school the e-mail is about (None: the platform). Row-Level
    Security requires it to match the transaction's school (or none, on the platform)."""
    notification = Notification(
        organization_id=organization_id,
        kind=kind,
        recipient=to,
        subject=subject[:300],
        text_body=text,
        html_body=html,
        reply_to=reply_to,
        calendar=calendar,
        calendar_method=calendar_method,
        attendee_id=attendee_id,
    )
    db.session.add(notification)
    return notification


@event.listens_for(TenantRoutingSession, "after_flush")
def _remember_flushed(session: Session, flush_context) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, Notification)]
    if ids:
        session.info.setdefault(_FLUSHED, []).extend(ids)


@event.listens_for(TenantRoutingSession, "after_commit")
def _publish_committed(session: Session) -> None:
    ids = session.info.pop(_FLUSHED, None)
    if ids and has_app_context():
        publish(ids)


@event.listens_for(TenantRoutingSession, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_FLUSHED, None)


def publish(ids: Iterable[int], countdown: float = 0) -> bool:
    """Hand notifications to the worker in batches; ``False`` (never an exception) if the
    broker is away: the rows stay pending and the sweeper publishes them later."""
    config = current_app.config
    ids = list(ids)
    size = int(config["MAIL_BATCH_SIZE"])
    timeout = float(config["MAIL_PUBLISH_TIMEOUT_S"])
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
            for start in range(0, len(ids), size):
                celery_app.send_task(
                    SEND_TASK,
                    args=(ids[start : start + size],),
                    countdown=countdown or None,
                    queue=config["MAIL_TASK_QUEUE"],
                    connection=connection,
                    retry=False,
                    ignore_result=True,
                )
    except Exception as exc:  # any broker failure: the outbox row is the safety net
        log.warning(
            "Could not hand %d notification(s) to Celery (%s: %s); the sweeper will.",
            len(ids),
            type(exc).__name__,
            exc,
        )
        return False
    return True
