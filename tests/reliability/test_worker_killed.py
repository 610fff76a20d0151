"""A Celery worker SIGKILLed, pool and all, in the middle of a webhook event's transaction:
the event runs again on another worker once its lease is over, and its effect happens once.
(E-mail has its own: tests/notifications/test_outbox.py, a worker killed mid-send.)

The kill lands mid-task for sure: the test holds a lock the ``user.created`` handler needs,
waits until the worker's statement is blocked on it, then kills the worker."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from app.identity.tasks import sweep_pending_webhooks
from app.models import ClerkUser, User, WebhookEvent
from tests.identity.clerk import SECRET, WEBHOOK_PATH, ClerkPerson, signed_headers
from tests.notifications.conftest import Worker

pytestmark = pytest.mark.worker

QUEUE = "reliability-webhooks"
LEASE_S = 2
# Every event goes to the worker (no fast path), on a queue of this module's own.
SETTINGS = {
    "CLERK_WEBHOOK_SECRET": SECRET,
    "WEBHOOK_FAST_PATH_BUDGET_MS": "0",
    "WEBHOOK_TASK_QUEUE": QUEUE,
    "WEBHOOK_PROCESSING_LEASE_S": str(LEASE_S),
    "WEBHOOK_TASK_TIMEOUT_MS": "30000",
}


@pytest.fixture(autouse=True)
def webhook_settings(app, monkeypatch) -> None:
    for key, value in SETTINGS.items():
        monkeypatch.setitem(app.config, key, type(app.config[key])(value))


@pytest.fixture
def start_worker(database_url: str, redis_url: str) -> Iterator[Callable[[str], Worker]]:
    started: list[Worker] = []

    def start(name: str) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            **SETTINGS,
        }
        env.pop("APP_DATABASE_URL", None)
        worker = Worker(env, QUEUE, name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def event_row(owner_engine, svix_id: str) -> dict:
    with owner_engine.connect() as conn:
        row = conn.execute(
            sa.select(WebhookEvent.__table__).where(WebhookEvent.svix_id == svix_id)
        ).mappings()
        return dict(row.first() or {})


def blocked_on_a_lock(owner_engine) -> bool:
    with owner_engine.connect() as conn:
        return bool(
            conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
        )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {what} within {timeout} s")
        time.sleep(0.05)


def test_worker_killed_mid_webhook_runs_it_again_and_creates_the_account_once(
    app, visit, start_worker, owner_engine
):
    doomed = start_worker("doomed")
    person = ClerkPerson("Killed", "Midway")
    body = json.dumps(person.event())
    headers = signed_headers(body)
    with owner_engine.connect() as blocker:
        # Held until the worker is dead: its insert into clerk_users waits on it.
        blocker.execute(sa.text("LOCK TABLE clerk_users IN SHARE ROW EXCLUSIVE MODE"))
        answer = visit(None).post(WEBHOOK_PATH, data=body, headers=headers)
        wait_until(lambda: blocked_on_a_lock(owner_engine), 20, "the worker to wait on the lock")
        during = event_row(owner_engine, headers["svix-id"])
        doomed.kill()
        blocker.rollback()
    time.sleep(LEASE_S + 0.5)
    survivor = start_worker("survivor")
    with app.app_context():
        swept = sweep_pending_webhooks()  # what beat runs every SWEEP_EVERY_S
    wait_until(
        lambda: event_row(owner_engine, headers["svix-id"]).get("status") == "completed",
        20,
        f"the event to complete on the survivor; its log:\n{survivor.log_tail()}",
    )
    after = event_row(owner_engine, headers["svix-id"])
    with owner_engine.connect() as conn:
        links = conn.scalar(sa.select(sa.func.count()).where(ClerkUser.clerk_user_id == person.id))
        accounts = conn.scalar(
            sa.select(sa.func.count()).where(sa.func.lower(User.email) == person.email.lower())
        )

    assert answer.status_code in (200, 202), f"expected the delivery accepted, got {answer.data}"
    assert (during["status"], during["path"]) == ("processing", "worker"), f"got {during}"
    assert swept >= 1, "expected the sweeper to hand the dead worker's claim over"
    assert (after["path"], after["attempts"]) == ("worker", during["attempts"] + 1), (
        f"expected exactly one more attempt after the kill, got {after}"
    )
    assert (links, accounts) == (1, 1), f"expected one account, got {links} links, {accounts}"
