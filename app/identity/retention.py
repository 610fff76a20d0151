"""How long stored Clerk deliveries keep their payloads (e-mails, phone numbers, IPs, user
agents), and erasing a deleted person's from them.

The rows themselves stay: the ``svix-id`` answers a late Svix retry as a duplicate, and type,
status and times keep the history readable. Only ``payload`` is removed (``payload_cut_at``
says when). A failed event keeps its payload until it is handled (re-run and completed), so
that it can still be re-run; a pending or processing one is still work to do.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app import clock
from app.extensions import db
from app.models import WebhookEvent, WebhookStatus

log = logging.getLogger(__name__)

BATCH = 1000  # rows per UPDATE, so the task never holds many row locks for long


def cut_old_payloads() -> int:
    """Remove the payload of completed events received over ``WEBHOOK_PAYLOAD_RETENTION_DAYS``
    ago (by ``app.clock``). Returns how many were cut; commits each batch."""
    days = current_app.config["WEBHOOK_PAYLOAD_RETENTION_DAYS"]
    cutoff = clock.now() - timedelta(days=days)
    cut = 0
    while True:
        batch = (
            sa.select(WebhookEvent.id)
            .where(
                WebhookEvent.payload.is_not(None),
                WebhookEvent.received_at < cutoff,
                WebhookEvent.status == WebhookStatus.COMPLETED.value,
            )
            .limit(BATCH)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        count = _cut(WebhookEvent.id.in_(batch))
        db.session.commit()
        cut += count
        if count < BATCH:
            break
    if cut:
        log.info("Cut the payload of %s Clerk webhook event(s) older than %s days.", cut, days)
    return cut


def erase_person(clerk_user_id: str) -> int:
    """Remove the payload of every stored delivery about this Clerk user (their own user
    events, their memberships, their sessions). In the caller's transaction (the
    ``user.deleted`` handler's), so the erasure and the deactivation commit together."""
    data = WebhookEvent.payload["data"]
    return _cut(
        WebhookEvent.payload.is_not(None),
        sa.or_(
            data["id"].astext == clerk_user_id,
            data["user_id"].astext == clerk_user_id,
            data["public_user_data"]["user_id"].astext == clerk_user_id,
        ),
    )


def _cut(*conditions) -> int:
    result = db.session.execute(
        sa.update(WebhookEvent)
        .where(*conditions)
        .values(payload=None, payload_cut_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
