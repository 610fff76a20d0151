"""The embedded engines that `make run` and the suite start when no URLs are given."""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from app.local_engines import start_redis


def test_embedded_redis_stops_at_once_and_frees_its_port():
    server, url = start_redis(Path(tempfile.mkdtemp(prefix="coursecove-redis-")) / "redis.db")
    port = urlsplit(url).port
    server.set("key", "value")

    started = time.monotonic()
    server.shutdown()
    took = time.monotonic() - started

    # redis-py used to retry the dropped SHUTDOWN connection ten times with backoff (4.6 s,
    # at every Ctrl-C of `make run` and at the end of every test process).
    assert took < 2, f"stopping the embedded Redis took {took:.1f} s"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"the embedded Redis still listens on {port} after shutdown")
