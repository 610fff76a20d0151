"""Identity sync from Clerk: webhook deliveries, Clerk user links and Clerk deletions.

None of these tables is tenant-owned: a delivery or a Clerk user is not one school's. The
Clerk ids of schools and memberships are columns on ``organizations`` / ``memberships``.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock


class WebhookStatus(enum.StrEnum):
    PENDING = "pending"  # recorded, waiting for a worker (or the sweeper)
    PROCESSING = "processing"  # claimed by the fast path or a worker
    COMPLETED = "completed"
    FAILED = "failed"


class WebhookPath(enum.StrEnum):
    FAST = "fast"  # finished inside the request, within the budget
    WORKER = "worker"  # finished by a Celery worker
    MANUAL = "manual"  # re-run with ``flask webhooks retry``


class WebhookEvent(Model):
    """One delivery from Clerk (via Svix), keyed by its ``svix-id``: the outbox of the sync."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed')", name="status_valid"
        ),
        sa.Index("ix_webhook_events_status_next_attempt", "status", "next_attempt_at"),
        sa.Index(
            "ix_webhook_events_payload_kept",
            "received_at",
            postgresql_where=sa.text("payload IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    svix_id: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(100), nullable=False, index=True)
    # The event as received (see service.parse_event); NULL once cut by retention or erased
    # when the person was deleted (payload_cut_at says when).
    payload: Mapped[dict | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="pending")
    # Which path finished it (or is finishing it): fast, worker or manual.
    path: Mapped[str | None] = mapped_column(sa.String(8))
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True),
        nullable=False,
        default=clock.now,
        server_default=sa.func.now(),
        index=True,
    )
    claimed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Set once the fast path hands the event over: the "queued" share of the summary.
    queued_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # How long the last attempt took (the fast path counts from the request's arrival).
    duration_ms: Mapped[float | None] = mapped_column(sa.Float)
    # What the attempt that completed it did, e.g. "skipped: organization … was deleted".
    detail: Mapped[str | None] = mapped_column(sa.Text)
    payload_cut_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def payload_json(self) -> str:
        if self.payload is None:
            return (
                f"(removed {self.payload_cut_at:%Y-%m-%d %H:%M} UTC)" if self.payload_cut_at else ""
            )
        return json.dumps(self.payload, indent=2, sort_keys=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.svix_id}"


class ClerkUser(Model):
    """Which CourseCove user a Clerk user is (FAB's ``ab_user`` stays FAB's)."""

    __tablename__ = "clerk_users"

    clerk_user_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    clerk_updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)

    user: Mapped[User] = relationship(User)


class ClerkDeletion(Model):
    """A Clerk object that was deleted. Clerk never revives an id, so any event about it
    that arrives later (out of order) is stale."""

    __tablename__ = "clerk_deletions"

    clerk_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    object_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    deleted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
