"""Real Celery workers for the notification pipeline, on the test database, Redis and SMTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Membership, Notification
from app.tenancy import privileged
from tests.booking.conftest import (  # noqa: F401 (the booking tests' fixtures, shared)
    ensemble,
    free_slots,
    make_students,
    music,
    owner,
    rows_written,
    schools,
    weekly_free_slot,
    yoga,
)

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "notify-tests"
# What the workers read from their environment; the test app gets the same values.
SETTINGS = {
    "MAIL_TASK_QUEUE": QUEUE,
    "MAIL_MAX_ATTEMPTS": "3",
    "MAIL_RETRY_BASE_S": "0.2",
    "MAIL_RETRY_MAX_S": "1",
    "MAIL_SENDING_LEASE_S": "4",
    "MAIL_SWEEP_AFTER_S": "60",
    "MAIL_TIMEOUT": "3",
}


@pytest.fixture
def mailbox(smtp_server):
    """What reached the SMTP server, nothing sent on reading: here a real worker sends, or
    the test calls ``outbox.send()`` itself."""
    smtp_server.clear()
    return smtp_server


@pytest.fixture(autouse=True)
def mail_settings(app, monkeypatch, smtp_server) -> None:
    for key, value in SETTINGS.items():
        monkeypatch.setitem(app.config, key, type(app.config[key])(value))
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")


class Worker:
    """``celery -A celery_worker worker`` in a process group of its own (so that a test can
    kill it, children included, as a crash would)."""

    def __init__(self, env: dict[str, str], queue: str, name: str):
        self.process = subprocess.Popen(
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
                queue,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"{name}-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60):
            self.kill()
            pytest.fail(f"the Celery worker did not start:\n{self.log_tail()}")

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if " ready." in line:
                self.ready.set()

    def log_tail(self, count: int = 30) -> str:
        return "\n".join(self.lines[-count:])

    def kill(self) -> None:
        """SIGKILL the whole group: no clean-up, no acknowledgement, like a crash."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(15)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def start_worker(app, database_url: str, redis_url: str, smtp_server) -> Iterator[Callable]:
    """``start_worker(queue=..., MAIL_PORT=...)`` → a running Worker, stopped after the module."""
    started: list[Worker] = []

    def start(queue: str = QUEUE, name: str = "notify-tests", **overrides: str) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "APP_DOMAIN": app.config["APP_DOMAIN"],
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(app.config["MAIL_PORT"]),
            **SETTINGS,
            "MAIL_TASK_QUEUE": queue,
            **overrides,
        }
        env.pop("APP_DATABASE_URL", None)
        worker = Worker(env, queue, name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def worker(start_worker):
    return start_worker()


@pytest.fixture
def notification_row(owner_engine) -> Callable[[int], dict]:
    def load(notification_id: int) -> dict:
        with owner_engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(Notification.__table__).where(Notification.id == notification_id)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else {}

    return load


@pytest.fixture
def wait_for_status(notification_row) -> Callable:
    def wait(notification_id: int, *statuses: str, timeout: float = 20, worker=None) -> dict:
        deadline = time.monotonic() + timeout
        row = notification_row(notification_id)
        while time.monotonic() < deadline:
            row = notification_row(notification_id)
            if row.get("status") in statuses:
                return row
            time.sleep(0.05)
        tail = f"\nworker log:\n{worker.log_tail()}" if worker else ""
        raise AssertionError(
            f"expected notification {notification_id} to become {' or '.join(statuses)} "
            f"within {timeout}s, got {row.get('status')} ({row.get('last_error')}){tail}"
        )

    return wait


@pytest.fixture
def clean_notifications(app) -> Iterator[None]:
    """Leaves no notification behind for later tests (they would be swept and sent)."""
    with app.app_context(), privileged():
        before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Notification.id), 0)))
        db.session.remove()
    yield
    with app.app_context(), privileged():
        db.session.execute(sa.delete(Notification).where(Notification.id > before))
        db.session.commit()
        db.session.remove()


class BlackHole:
    """A TCP server that accepts connections and never says a word (an SMTP server hung)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        for connection in self.accepted:
            connection.close()
        self.sock.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


@pytest.fixture(autouse=True)
def people_as_found(app) -> Iterator[None]:
    """Tests here set people's time zones and reminder choices; put them back."""

    def reset() -> None:
        with app.app_context(), privileged():
            db.session.execute(sa.update(Membership).values(time_zone=None, lesson_reminders=True))
            db.session.commit()
            db.session.remove()

    reset()
    yield
    reset()
