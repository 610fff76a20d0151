"""``GET /healthz``: 200 when PostgreSQL and Redis answer, 503 (and nothing more) when not."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import pytest

from app.local_engines import free_port, start_redis

HOSTS = ("coursecove.test", "musicschool.coursecove.test", "10.0.0.7:8000")


def _health(app, host: str = "coursecove.test", method: str = "GET"):
    return app.test_client().open("/healthz", method=method, base_url=f"http://{host}")


def test_healthz_is_ok_on_any_host_without_session_or_sign_in(app):
    for host in HOSTS:
        response = _health(app, host)
        got = (response.status_code, response.get_json(), response.headers.get("Set-Cookie"))
        assert got == (200, {"status": "ok"}, None), f"on {host}: expected 200 ok, got {got}"


def test_healthz_is_never_rate_limited(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    statuses = {_health(app).status_code for _ in range(60)}
    assert statuses == {200}, f"expected 60 answers of 200, got {statuses}"


def test_healthz_only_reads(app):
    response = _health(app, method="POST")
    assert response.status_code == 405, f"expected 405 for POST, got {response.status_code}"


@pytest.fixture
def stopped_redis_url():
    """A real Redis that was running and has stopped."""
    server, url = start_redis(Path(tempfile.mkdtemp(prefix="coursecove-health-")) / "redis.db")
    server.ping()
    server.shutdown()
    return url


def test_healthz_is_degraded_without_saying_more_when_redis_stopped(
    app, monkeypatch, stopped_redis_url, caplog
):
    monkeypatch.setitem(app.config, "REDIS_URL", stopped_redis_url)
    with caplog.at_level(logging.WARNING, logger="app.health"):
        started = time.monotonic()
        response = _health(app)
        took = time.monotonic() - started
    body = response.get_data(as_text=True)
    assert (response.status_code, response.get_json()) == (503, {"status": "degraded"}), body
    assert took < 2, f"expected an answer within 2 s of Redis being gone, took {took:.1f} s"
    port = stopped_redis_url.rsplit(":", 1)[1].split("/")[0]
    assert "redis: ConnectionError" in caplog.text, caplog.text
    assert port not in caplog.text and port not in body, "the Redis address leaked"


def test_healthz_is_degraded_when_the_database_is_unreachable(app, monkeypatch, caplog):
    password = "do-not-print-me"
    url = f"postgresql+psycopg://coursecove_app:{password}@127.0.0.1:{free_port()}/coursecove"
    monkeypatch.setitem(app.config, "APP_DATABASE_URL", url)
    with caplog.at_level(logging.WARNING, logger="app.health"):
        response = _health(app, "musicschool.coursecove.test")
    body = response.get_data(as_text=True)
    assert (response.status_code, response.get_json()) == (503, {"status": "degraded"}), body
    assert "database: OperationalError" in caplog.text, caplog.text
    for secret in (password, "127.0.0.1"):
        assert secret not in body and secret not in caplog.text, f"{secret!r} leaked"


def test_healthz_recovers_once_the_components_answer_again(app):
    # Runs after the degraded tests: nothing of their failures sticks.
    response = _health(app)
    assert response.status_code == 200, f"expected 200, got {response.status_code}"
