"""PostgreSQL going away under a running app: requests fail at once with a page that says so
(503, JSON under /api/), and the app recovers by itself, without a restart.

The outage is made for real on the test server: the application role's sessions are ended
with ``pg_terminate_backend`` (what a PostgreSQL restart does to them), and while it lasts the
role may not log in (what a server that is down or starting up answers). ``bench/faults.py``
restarts a whole PostgreSQL under gunicorn (docs/reliability.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors as pg_errors
from sqlalchemy.exc import OperationalError

from app.errors import database_unreachable
from config import APP_DB_ROLE

PIANO_30 = "Piano lesson (30 min)"
ADA = "ada@musicschool.demo"


def end_app_sessions(owner_engine) -> int:
    """Terminate every session of the application role on this database; how many."""
    with owner_engine.connect() as conn:
        ended = conn.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE usename = :role AND datname = current_database()"
            ),
            {"role": APP_DB_ROLE},
        ).scalar_one()
        conn.commit()
    return ended


@pytest.fixture
def refuse_app_logins(owner_engine) -> Iterator:
    """``refuse()`` makes the application role unable to connect; undone after the test."""

    def set_login(allowed: bool) -> None:
        with owner_engine.connect() as conn:
            conn.execute(sa.text(f"ALTER ROLE {APP_DB_ROLE} {'LOGIN' if allowed else 'NOLOGIN'}"))
            conn.commit()

    yield lambda allowed=False: set_login(allowed)
    set_login(True)


def availability_url(music) -> str:
    return f"/api/availability?type={music.types[PIANO_30]}"


def test_pooled_sessions_ended_by_the_server_are_replaced_before_the_next_request(
    visit, music, owner_engine
):
    visitor = visit("musicschool")
    assert visitor.get("/book/").status_code == 200  # the pool now holds a session
    ended = end_app_sessions(owner_engine)

    page = visitor.get("/book/")
    api = visitor.get(availability_url(music))

    assert ended >= 1, "expected at least one application session to end"
    assert (page.status_code, api.status_code) == (200, 200), (
        f"expected both to succeed on fresh connections, got page {page.status_code}, "
        f"api {api.status_code}: {page.data[-300:]!r}"
    )


def test_while_the_database_refuses_the_app_pages_answer_503_at_once_then_recover(
    visit, music, owner_engine, refuse_app_logins
):
    visitor = visit("musicschool", ADA)  # signed in: the page must not load her either
    assert visitor.get("/book/").status_code == 200
    refuse_app_logins()
    end_app_sessions(owner_engine)

    started = time.monotonic()
    page = visitor.get("/book/")
    api = visitor.get(availability_url(music))
    took = time.monotonic() - started
    refuse_app_logins(allowed=True)
    after = visitor.get("/book/")

    text = page.data.decode()
    assert page.status_code == 503, f"expected 503 for the page, got {page.status_code}: {text}"
    assert "text/html" in page.content_type and "try again" in text.lower(), text
    assert page.headers.get("Retry-After"), "expected a Retry-After header"
    assert api.status_code == 503 and api.is_json, f"expected JSON 503, got {api.data!r}"
    assert "try again" in api.get_json()["message"].lower(), api.get_json()
    assert took < 5, f"expected an answer at once, both took {took:.1f} s"
    assert after.status_code == 200, f"expected recovery without a restart, got {after.status_code}"


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (psycopg.OperationalError("connection failed: No such file or directory"), True),
        (pg_errors.AdminShutdown("terminating connection due to administrator command"), True),
        (pg_errors.CannotConnectNow("the database system is starting up"), True),
        (pg_errors.DeadlockDetected("deadlock detected"), False),
        (pg_errors.QueryCanceled("canceling statement due to statement timeout"), False),
        (pg_errors.LockNotAvailable("could not obtain lock"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_only_a_server_that_went_away_is_a_503(error, unreachable):
    wrapped = OperationalError("SELECT 1", {}, error)

    assert database_unreachable(wrapped) is unreachable, (
        f"expected {type(error).__name__} to be {'a 503' if unreachable else 'a 500'}"
    )


def test_a_statement_error_that_is_not_an_outage_stays_a_500(app, visit, monkeypatch):
    """A deadlock or a timeout is not "come back in a moment": it is logged and the visitor
    gets the usual 500 page."""
    from app.booking import views

    def deadlock(*args, **kwargs):
        raise OperationalError("UPDATE …", {}, pg_errors.DeadlockDetected("deadlock detected"))

    monkeypatch.setattr(views, "render", deadlock)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production

    page = visit("musicschool").get("/book/")

    assert page.status_code == 500, f"expected the 500 page, got {page.status_code}"
    assert "Something went wrong on our side" in page.data.decode()
