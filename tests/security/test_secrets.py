"""Secrets: production refuses the public development defaults; ``make run`` makes its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.launcher import instance_secrets
from config import DEV_APP_DB_PASSWORD, DEV_SECRET_KEY, missing_secrets

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("secret_key", "password", "missing"),
    [
        (DEV_SECRET_KEY, DEV_APP_DB_PASSWORD, ["SECRET_KEY", "APP_DB_PASSWORD"]),
        ("", "a-real-password-123", ["SECRET_KEY"]),
        ("short", "a-real-password-123", ["SECRET_KEY"]),
        ("k" * 40, DEV_APP_DB_PASSWORD, ["APP_DB_PASSWORD"]),
        ("k" * 40, "", ["APP_DB_PASSWORD"]),
        ("k" * 40, "a-real-password-123", []),
    ],
)
def test_which_secrets_are_missing(secret_key, password, missing):
    assert missing_secrets({"SECRET_KEY": secret_key, "APP_DB_PASSWORD": password}) == missing


def _start_in_production(**env) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "APP_DB_PASSWORD", "APP_DATABASE_URL")
    }
    environment.update(COURSECOVE_ENV="production", DATABASE_URL="postgresql://x@/y", **env)
    return subprocess.run(
        [sys.executable, "-c", "from app import create_app; create_app()"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_will_not_start_with_the_default_secrets():
    result = _start_in_production(APP_DB_PASSWORD="a-real-password-123")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("CourseCove will not start without a real SECRET_KEY:"), (
        result.stderr[-2000:]
    )
    assert "APP_DB_PASSWORD" not in last_line


def test_make_run_generates_its_secrets_once_and_keeps_them(tmp_path):
    first = instance_secrets(tmp_path)
    assert set(first) == {"SECRET_KEY", "APP_DB_PASSWORD"}
    assert all(len(value) >= 32 for value in first.values())
    assert first["SECRET_KEY"] not in (DEV_SECRET_KEY, first["APP_DB_PASSWORD"])
    assert instance_secrets(tmp_path) == first, "a second run must reuse the same secrets"
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0, "readable by others"
    assert instance_secrets(tmp_path / ".." / tmp_path.name) == first
