"""Receiving and running Clerk webhook deliveries.

``webhook_events`` is the outbox: a delivery is recorded (unique ``svix-id``) before anything
else happens, and from then on it is ours to finish. The fast path runs it inside the request
within ``WEBHOOK_FAST_PATH_BUDGET_MS``; when the budget runs out, or it waits for something
Clerk has not sent yet, or anything else goes wrong, it goes to the Celery worker, which runs
the very same handlers with retries and exponential backoff. A sweeper re-enqueues what the
broker could not take. Call everything here inside ``privileged()``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from psycopg import errors as pg_errors
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from app import clock
from app.extensions import db
from app.identity import queue
from app.identity.budget import BudgetExceeded, time_budget
from app.identity.handlers import HANDLERS, PermanentFailure, RetryLater, event_version
from app.models import WebhookEvent, WebhookPath, WebhookStatus
from app.tenancy import tenant

log = logging.getLogger(__name__)

PENDING, PROCESSING = WebhookStatus.PENDING.value, WebhookStatus.PROCESSING.value
COMPLETED, FAILED = WebhookStatus.COMPLETED.value, WebhookStatus.FAILED.value


@dataclass(frozen=True)
class Outcome:
    status: str  # completed, failed, queued, duplicate, skipped
    detail: str = ""
    retry_in: float | None = None  # seconds, when queued


# --- what a delivery must look like ------------------------------------------------------


def event_problem(event: object) -> str | None:
    """Why a verified body is not a Clerk event we can record, or ``None``."""
    if not isinstance(event, dict):
        return "The body is not a JSON object."
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        return "The event has no 'type' (a string of up to 100 characters)."
    if not isinstance(event.get("data"), dict):
        return "The event has no 'data' object."
    data_id = event["data"].get("id")
    if event_type in HANDLERS and (not isinstance(data_id, str) or not 0 < len(data_id) <= 64):
        return f"A {event_type} event needs 'data.id' (a string of up to 64 characters)."
    return None


# --- the fast path -----------------------------------------------------------------------


def receive(svix_id: str, event: dict, started: float) -> Outcome:
    """Record a verified delivery and run it within the budget (counted from ``started``,
    a ``time.perf_counter()`` value). A repeated ``svix-id`` is answered, not re-run."""
    # Recording is not under the budget: answering 2xx without a record would lose the event.
    event_id = _record(svix_id, event)
    if event_id is None:
        return Outcome("duplicate", "this svix-id was already received")
    budget_s = current_app.config["WEBHOOK_FAST_PATH_BUDGET_MS"] / 1000
    claimed = Claimed(event_id, svix_id, event["type"], event, attempts=1)
    outcome = run_event(claimed, WebhookPath.FAST, started, deadline=started + budget_s)
    return _hand_over(event_id, outcome)


def _hand_over(event_id: int, outcome: Outcome) -> Outcome:
    if outcome.status == "queued" and not queue.publish(event_id, outcome.retry_in or 0):
        return Outcome(
            PENDING,
            f"{outcome.detail}; the broker is unreachable, the sweeper will enqueue it",
            outcome.retry_in,
        )
    return outcome


def _record(svix_id: str, event: dict) -> int | None:
    """Insert the delivery already claimed by the fast path; ``None`` if the svix-id exists.

    ``ON CONFLICT DO NOTHING`` on the unique svix-id: of two simultaneous deliveries, the
    second waits for the first's insert to commit and then inserts nothing."""
    event_id = db.session.scalar(
        insert(WebhookEvent)
        .values(
            svix_id=svix_id,
            event_type=event["type"],
            payload=event,
            status=PROCESSING,
            path=WebhookPath.FAST.value,
            attempts=1,
            claimed_at=sa.func.now(),
        )
        .on_conflict_do_nothing(index_elements=["svix_id"])
        .returning(WebhookEvent.id)
    )
    db.session.commit()
    return event_id


# --- running one event (every path) ------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """An event taken for one attempt (by the fast path, a worker or a manual re-run)."""

    id: int
    svix_id: str
    event_type: str
    payload: dict
    attempts: int


def run_event(claimed: Claimed, path: WebhookPath, started: float, deadline: float) -> Outcome:
    """Run a claimed event's handler and record the outcome.

    The handler's changes and ``completed`` are committed together. Membership events run in
    their school's tenant (RLS applies to the rows they touch)."""
    event_id, svix_id, event_type, payload, attempts = (
        claimed.id,
        claimed.svix_id,
        claimed.event_type,
        claimed.payload,
        claimed.attempts,
    )
    handler = HANDLERS.get(event_type)
    try:
        with time_budget(deadline):
            school_id = handler.school_of(payload) if handler and handler.school_of else None
            with tenant(school_id):
                try:
                    if handler is None:
                        detail = f"{event_type} is not handled; nothing to do"
                    else:
                        detail = handler.apply(payload["data"], event_version(payload), school_id)
                    duration_ms = (time.perf_counter() - started) * 1000
                    _finish(event_id, COMPLETED, path, duration_ms, error=None)
                    db.session.commit()
                except BaseException:
                    db.session.rollback()  # tenant() commits on the way out
                    raise
        outcome = Outcome(COMPLETED, detail)
    except PermanentFailure as exc:
        outcome = _record_failure(event_id, path, started, str(exc), final=True)
    except RetryLater as exc:
        outcome = _record_failure(event_id, path, started, f"waiting: {exc}")
    except Exception as exc:  # budget, timeouts, deadlocks, races: another attempt will do
        db.session.rollback()
        outcome = _record_failure(
            event_id, path, started, _describe(exc), budget_spent=_is_timeout(exc)
        )
    log.info(
        "Clerk %s %s: %s on the %s path in %.1f ms (attempt %s)%s",
        event_type,
        svix_id,
        outcome.status,
        path.value,
        (time.perf_counter() - started) * 1000,
        attempts,
        f": {outcome.detail}" if outcome.detail else "",
    )
    return outcome


def _record_failure(
    event_id: int,
    path: WebhookPath,
    started: float,
    error: str,
    *,
    final: bool = False,
    budget_spent: bool = False,
) -> Outcome:
    db.session.rollback()
    config = current_app.config
    attempts = db.session.scalar(
        sa.select(WebhookEvent.attempts).where(WebhookEvent.id == event_id)
    )
    duration_ms = (time.perf_counter() - started) * 1000
    if path is WebhookPath.MANUAL or final or attempts >= config["WEBHOOK_MAX_ATTEMPTS"]:
        if not final and path is not WebhookPath.MANUAL:
            error = f"gave up after {attempts} attempts: {error}"
        _finish(event_id, FAILED, path, duration_ms, error)
        db.session.commit()
        return Outcome(FAILED, error)
    # Ran out of fast-path budget: the worker (no such budget) can start right away.
    retry_in = 0.0 if path is WebhookPath.FAST and budget_spent else backoff(attempts)
    db.session.execute(
        sa.update(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .values(
            status=PENDING,
            last_error=error,
            duration_ms=duration_ms,
            next_attempt_at=sa.func.now() + timedelta(seconds=retry_in),
            queued_at=sa.func.coalesce(WebhookEvent.queued_at, sa.func.now()),
        )
    )
    db.session.commit()
    return Outcome("queued", error, retry_in)


def _finish(
    event_id: int, status: str, path: WebhookPath, duration_ms: float, error: str | None
) -> None:
    values = {
        "status": status,
        "path": path.value,
        "duration_ms": duration_ms,
        "processed_at": sa.func.clock_timestamp(),
        "next_attempt_at": None,
    }
    if error is not None:
        values["last_error"] = error
    db.session.execute(sa.update(WebhookEvent).where(WebhookEvent.id == event_id).values(values))


def backoff(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: base, 2×base, 4×base … capped."""
    config = current_app.config
    return min(
        config["WEBHOOK_RETRY_BASE_S"] * 2 ** max(attempts - 1, 0), config["WEBHOOK_RETRY_MAX_S"]
    )


def _is_timeout(exc: Exception) -> bool:
    return isinstance(exc, BudgetExceeded) or (
        isinstance(exc, DBAPIError) and isinstance(exc.orig, pg_errors.QueryCanceled)
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, BudgetExceeded):
        return "the time budget ran out"
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {str(exc.orig).strip()}"
    return f"{type(exc).__name__}: {exc}"


# --- the worker and manual re-runs -------------------------------------------------------


def _claim(event_id: int, path: WebhookPath, statuses: tuple[str, ...]) -> Claimed | None:
    """Take the event for one attempt. Atomic, so two tasks for one event never both run it;
    a ``processing`` claim older than the lease belongs to a process that died."""
    lease = timedelta(seconds=current_app.config["WEBHOOK_PROCESSING_LEASE_S"])
    claimed = db.session.execute(
        sa.update(WebhookEvent)
        .where(
            WebhookEvent.id == event_id,
            sa.or_(
                WebhookEvent.status.in_(statuses),
                sa.and_(
                    WebhookEvent.status == PROCESSING,
                    WebhookEvent.claimed_at < sa.func.now() - lease,
                ),
            ),
        )
        .values(
            status=PROCESSING,
            attempts=WebhookEvent.attempts + 1,
            claimed_at=sa.func.now(),
            path=path.value,
        )
        .returning(
            WebhookEvent.id,
            WebhookEvent.svix_id,
            WebhookEvent.event_type,
            WebhookEvent.payload,
            WebhookEvent.attempts,
        )
    ).first()
    db.session.commit()
    return Claimed(*claimed) if claimed is not None else None


def run_queued(event_id: int) -> Outcome:
    """What the Celery task does: one attempt, then the next one scheduled if needed."""
    started = time.perf_counter()
    claimed = _claim(event_id, WebhookPath.WORKER, (PENDING,))
    if claimed is None:
        return Outcome("skipped", "already finished or being run elsewhere")
    deadline = started + current_app.config["WEBHOOK_TASK_TIMEOUT_MS"] / 1000
    return _hand_over(event_id, run_event(claimed, WebhookPath.WORKER, started, deadline))


def retry_now(svix_id: str) -> Outcome:
    """Re-run one event in this process (``flask webhooks retry``): one attempt, no budget."""
    event_id = db.session.scalar(sa.select(WebhookEvent.id).where(WebhookEvent.svix_id == svix_id))
    db.session.commit()
    if event_id is None:
        return Outcome("unknown", f"no webhook event has svix-id {svix_id!r}")
    started = time.perf_counter()
    claimed = _claim(event_id, WebhookPath.MANUAL, (PENDING, FAILED, COMPLETED))
    if claimed is None:
        return Outcome("skipped", "it is being processed right now")
    deadline = started + current_app.config["WEBHOOK_TASK_TIMEOUT_MS"] / 1000
    return run_event(claimed, WebhookPath.MANUAL, started, deadline)


def failed_svix_ids() -> list[str]:
    ids = db.session.scalars(
        sa.select(WebhookEvent.svix_id)
        .where(WebhookEvent.status == FAILED)
        .order_by(WebhookEvent.id)
    )
    return list(ids)


def sweep() -> int:
    """Re-enqueue events the worker should have had for over ``WEBHOOK_SWEEP_AFTER_S``:
    pending ones (the broker was down, or a retry message got lost) and claims whose process
    died. Returns how many were handed over; stops at the first publish that fails."""
    config = current_app.config
    overdue = sa.func.now() - timedelta(seconds=config["WEBHOOK_SWEEP_AFTER_S"])
    lease = timedelta(seconds=config["WEBHOOK_PROCESSING_LEASE_S"])
    event_ids = db.session.scalars(
        sa.select(WebhookEvent.id)
        .where(
            sa.or_(
                sa.and_(
                    WebhookEvent.status == PENDING,
                    sa.func.coalesce(WebhookEvent.next_attempt_at, WebhookEvent.received_at)
                    < overdue,
                ),
                sa.and_(
                    WebhookEvent.status == PROCESSING,
                    WebhookEvent.claimed_at < sa.func.now() - lease,
                ),
            )
        )
        .order_by(WebhookEvent.id)
        .limit(500)
        .with_for_update(skip_locked=True)
    ).all()
    handed_over = 0
    for event_id in event_ids:
        if not queue.publish(event_id):
            break
        # The worker's claim waits for this commit (row lock), then finds it pending.
        db.session.execute(
            sa.update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(
                status=PENDING,
                next_attempt_at=sa.func.now(),
                queued_at=sa.func.coalesce(WebhookEvent.queued_at, sa.func.now()),
            )
        )
        handed_over += 1
    db.session.commit()
    if event_ids:
        log.info(
            "Webhook sweeper re-enqueued %s of %s overdue event(s).", handed_over, len(event_ids)
        )
    return handed_over


# --- seeing it ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    since: datetime
    received: int
    completed: int
    completed_fast: int
    queued: int
    failed: int
    in_flight: int

    def share(self, count: int) -> float:
        return count / self.received if self.received else 0.0


def summary(hours: int = 24) -> Summary:
    since = clock.now() - timedelta(hours=hours)
    e = WebhookEvent
    row = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(e.status == COMPLETED),
            sa.func.count().filter(e.status == COMPLETED, e.path == WebhookPath.FAST.value),
            sa.func.count().filter(e.queued_at.is_not(None)),
            sa.func.count().filter(e.status == FAILED),
            sa.func.count().filter(e.status.in_((PENDING, PROCESSING))),
        ).where(e.received_at >= since)
    ).one()
    return Summary(since, *row)
