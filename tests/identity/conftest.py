"""Signed Clerk deliveries over the test client, the stored rows, and a real Celery worker
in a subprocess (see ``clerk.py`` for the events themselves)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.models import WebhookEvent
from tests.identity.clerk import SECRET, WEBHOOK_PATH, signed_headers

ROOT = Path(__file__).resolve().parents[2]
WORKER_QUEUE = "identity-tests"
# The worker reads these from its environment; the test app gets the same values.
WORKER_SETTINGS = {
    "WEBHOOK_MAX_ATTEMPTS": "4",
    "WEBHOOK_CONFLICT_MAX_ATTEMPTS": "3",
    "WEBHOOK_RETRY_BASE_S": "0.25",
    "WEBHOOK_TASK_TIMEOUT_MS": "400",
    "WEBHOOK_TASK_QUEUE": WORKER_QUEUE,
    "WEBHOOK_PUBLISH_TIMEOUT_S": "0.25",
}


@pytest.fixture(autouse=True)
def webhook_settings(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CLERK_WEBHOOK_SECRET", SECRET)
    for key, value in WORKER_SETTINGS.items():
        current = app.config[key]
        monkeypatch.setitem(app.config, key, type(current)(value))


@pytest.fixture
def platform(visit):
    return visit(None)


@pytest.fixture
def deliver(platform) -> Callable:
    """``deliver(event)`` → the response to one signed delivery (``svix_id=`` to repeat one)."""

    def send(
        event: dict,
        *,
        svix_id: str | None = None,
        secret: str = SECRET,
        at: datetime | None = None,
        via=None,
    ):
        body = json.dumps(event)
        headers = signed_headers(body, svix_id=svix_id, secret=secret, at=at)
        return (via or platform).post(WEBHOOK_PATH, data=body, headers=headers)

    return send


@pytest.fixture
def stored(owner_engine) -> Callable[[str], dict | None]:
    """``stored(svix_id)`` → the webhook_events row as a dict (fresh from the database)."""

    def load(svix_id: str) -> dict | None:
        with owner_engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(WebhookEvent.__table__).where(WebhookEvent.svix_id == svix_id)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    return load


class WorkerProcess:
    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if " ready." in line:
                self.ready.set()

    def log_tail(self, count: int = 25) -> str:
        return "\n".join(self.lines[-count:])


@pytest.fixture(scope="module")
def celery_worker(app, database_url: str, redis_url: str) -> Iterator[WorkerProcess]:
    """A real ``celery -A celery_worker worker`` on the test database and Redis (stopped
    after the module, so it does not load the machine for the rest of the suite)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CLERK_WEBHOOK_SECRET": SECRET,
        **WORKER_SETTINGS,
    }
    for name in ("APP_DATABASE_URL", "CLERK_ISSUER"):
        env.pop(name, None)
    process = subprocess.Popen(
        # The prefork pool, as `make run` uses: children must get database pools of their own.
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "celery_worker",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--queues",
            WORKER_QUEUE,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"identity-tests-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = WorkerProcess(process)
    if not worker.ready.wait(60):
        process.kill()
        pytest.fail(f"the Celery worker did not start:\n{worker.log_tail()}")
    yield worker
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def wait_for(stored) -> Callable:
    """``wait_for(svix_id, "completed")`` polls until the event has that status."""

    def wait(svix_id: str, *statuses: str, timeout: float = 20, worker=None) -> dict:
        deadline = time.monotonic() + timeout
        row = stored(svix_id)
        while time.monotonic() < deadline:
            row = stored(svix_id)
            if row and row["status"] in statuses:
                return row
            time.sleep(0.05)
        tail = f"\nworker log:\n{worker.log_tail()}" if worker else ""
        got = f"{row['status']} ({row['last_error']})" if row else "no row"
        raise AssertionError(
            f"expected {svix_id} to become {' or '.join(statuses)} within "
            f"{timeout}s, got {got}{tail}"
        )

    return wait
