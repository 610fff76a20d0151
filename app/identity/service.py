"""Receiving and running Clerk webhook deliveries.

``webhook_events`` is the outbox: a delivery is recorded (unique ``svix-id``) before anything
else happens, and from then on it is ours to finish. The fast path runs it inside the request
within ``WEBHOOK_FAST_PATH_BUDGET_MS``; when the budget runs out, or it waits for something
Clerk has not sent yet, or anything else goes wrong, it goes to the Celery worker, which runs
the very same handlers with retries and exponential backoff. A sweeper re-enqueues what the
broker could not take. Call everything here inside ``privileged()``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from psycopg import errors as pg_errors
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, DBAPIError

from app import clock
from app.extensions import db
from app.identity import queue
from app.identity.budget import BudgetExceeded, time_budget
from app.identity.handlers import (
    HANDLERS,
    OrderConflict,
    PermanentFailure,
    RetryLater,
    Skipped,
    event_version,
)
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

MAX_NESTING = 64  # Clerk's events nest 4 or 5 levels; JSONB and the handlers need a bound
# Characters PostgreSQL cannot hold (NUL) or encode (a lone UTF-16 surrogate, from "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnusableBody(ValueError):
    """A verified body that cannot be a Clerk event; the message says why (a 400)."""


def _refuse_constant(name: str) -> float:
    raise UnusableBody(f"The signed body contains {name}, which is not JSON.")


def _number(text: str) -> float | str:
    # 1e400 is valid JSON but no float (Python reads infinity, JSONB refuses it): keep its text.
    value = float(text)
    return value if math.isfinite(value) else text


def parse_event(body: bytes) -> dict:
    """The event in a verified body, made storable: raises ``UnusableBody``.

    Deliberate changes, so that every verified delivery can be recorded: NUL and lone
    surrogates become U+FFFD, and a number too large for a float is kept as its text."""
    try:
        text = body.decode("utf-8")
        event = json.loads(text, parse_constant=_refuse_constant, parse_float=_number)
    except UnicodeDecodeError as exc:
        raise UnusableBody("The signed body is not UTF-8.") from exc
    except RecursionError as exc:
        raise UnusableBody(f"The signed body is nested deeper than {MAX_NESTING} levels.") from exc
    except UnusableBody:
        raise
    except ValueError as exc:
        raise UnusableBody("The signed body is not JSON.") from exc
    # Escapes are the only way to spell NUL or a lone surrogate in valid UTF-8 JSON.
    event = _storable(event, MAX_NESTING, "\\u" in text)
    problem = event_problem(event)
    if problem:
        raise UnusableBody(problem)
    return event


def _storable(value, depth: int, clean_strings: bool):
    if depth < 0:
        raise UnusableBody(f"The signed body is nested deeper than {MAX_NESTING} levels.")
    if isinstance(value, dict):
        return {
            _storable(k, depth, clean_strings): _storable(v, depth - 1, clean_strings)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_storable(item, depth - 1, clean_strings) for item in value]
    if clean_strings and isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    return value


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
            school_id = _school_of(handler, payload)
            with tenant(school_id):
                try:
                    status, detail = _apply(handler, event_type, payload, school_id)
                    duration_ms = (time.perf_counter() - started) * 1000
                    _finish(event_id, COMPLETED, path, duration_ms, error=None, detail=detail)
                    db.session.commit()
                except BaseException:
                    db.session.rollback()  # tenant() commits on the way out
                    raise
        outcome = Outcome(status, detail)
    except PermanentFailure as exc:
        outcome = _record_failure(event_id, path, started, str(exc), final=True)
    except OrderConflict as exc:
        outcome = _record_failure(
            event_id,
            path,
            started,
            f"conflict: {exc}",
            max_attempts=current_app.config["WEBHOOK_CONFLICT_MAX_ATTEMPTS"],
        )
    except RetryLater as exc:
        outcome = _record_failure(event_id, path, started, f"waiting: {exc}")
    except (TypeError, ValueError, OverflowError, KeyError, AttributeError, DataError) as exc:
        # The handlers read only the payload and the database: the same payload would fail
        # the same way on every attempt, so retrying for an hour helps nobody.
        db.session.rollback()
        outcome = _record_failure(
            event_id, path, started, f"unusable event data: {_describe(exc)}", final=True
        )
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


def _school_of(handler, payload: dict | None) -> int | None:
    if payload is None or handler is None or handler.school_of is None:
        return None
    return handler.school_of(payload)


def _apply(handler, event_type: str, payload: dict | None, school_id: int | None):
    """(outcome status, detail) of running the handler."""
    if payload is None:
        return "skipped", "skipped: its payload was erased (retention or the person's deletion)"
    if handler is None:
        return COMPLETED, f"{event_type} is not handled; nothing to do"
    try:
        return COMPLETED, handler.apply(payload["data"], event_version(payload), school_id)
    except Skipped as exc:
        return "skipped", f"skipped: {exc}"


def _record_failure(
    event_id: int,
    path: WebhookPath,
    started: float,
    error: str,
    *,
    final: bool = False,
    budget_spent: bool = False,
    max_attempts: int | None = None,
) -> Outcome:
    db.session.rollback()
    config = current_app.config
    attempts = db.session.scalar(
        sa.select(WebhookEvent.attempts).where(WebhookEvent.id == event_id)
    )
    duration_ms = (time.perf_counter() - started) * 1000
    limit = min(max_attempts or config["WEBHOOK_MAX_ATTEMPTS"], config["WEBHOOK_MAX_ATTEMPTS"])
    if path is WebhookPath.MANUAL or final or attempts >= limit:
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
    event_id: int,
    status: str,
    path: WebhookPath,
    duration_ms: float,
    error: str | None,
    detail: str | None = None,
) -> None:
    values = {
        "status": status,
        "detail": detail,
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
        # Only the primary message: PostgreSQL's DETAIL repeats the values (e-mail addresses).
        diag = getattr(exc.orig, "diag", None)
        message = getattr(diag, "message_primary", None) or str(exc.orig).split("\n")[0]
        return f"{type(exc.orig).__name__}: {message.strip()}"
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
