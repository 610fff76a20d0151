"""Fixtures: real PostgreSQL and Redis (embedded unless TEST_DATABASE_URL / TEST_REDIS_URL),
a migrated database with the demo schools, visitors that browse a school's subdomain, and the
application clock, frozen for the whole run (``--clock`` or ``COURSECOVE_CLOCK`` say when)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import clock, create_app
from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.local_engines import (
    create_database,
    postgres_url,
    start_postgres,
    start_redis,
)
from app.tenancy import privileged
from config import TestConfig, sqlalchemy_url

TEST_DATABASE = "coursecove_test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        metavar="INSTANT",
        help="run the suite at this instant, e.g. 2027-03-14T06:30:00Z "
        f"(default: ${clock.ENVIRONMENT_VARIABLE}, else the wall clock at start, frozen)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Freeze the application clock for the whole run, in this process and (through the
    environment) in every server and worker process a test starts."""
    text = config.getoption("--clock") or os.environ.get(clock.ENVIRONMENT_VARIABLE)
    instant = clock.parse_instant(text) if text else clock.now().replace(microsecond=0)
    clock.set_now(instant)
    os.environ[clock.ENVIRONMENT_VARIABLE] = instant.isoformat()


def pytest_report_header(config: pytest.Config) -> str:
    instant = clock.pinned().isoformat().replace("+00:00", "Z")
    return f"clock: {instant} (run again at this instant with --clock={instant})"


class Clock:
    """The ``clock`` fixture: move the frozen application clock within one test."""

    def __init__(self) -> None:
        self.start = clock.now()

    def now(self) -> datetime:
        return clock.now()

    def set(self, instant: datetime) -> None:
        clock.set_now(instant)

    def advance(self, by: timedelta) -> None:
        clock.set_now(clock.now() + by)


@pytest.fixture(name="clock")
def clock_fixture() -> Iterator[Clock]:
    """Moves this process's clock (not a server or worker started in another process); the
    run's instant is restored afterwards."""
    control = Clock()
    yield control
    clock.set_now(control.start)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        create_database(external, TEST_DATABASE, drop_first=True)
        url = make_url(sqlalchemy_url(external)).set(database=TEST_DATABASE)
        yield url.render_as_string(hide_password=False)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="coursecove-pg-")) / "data"
    server = start_postgres(data_dir, cleanup_mode="delete")
    create_database(postgres_url(server, "postgres"), TEST_DATABASE)
    yield postgres_url(server, TEST_DATABASE)
    server.cleanup()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield external
        return
    server, url = start_redis(Path(tempfile.mkdtemp(prefix="coursecove-redis-")) / "redis.db")
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str) -> Flask:
    from app.database import prepare_database

    flask_app = create_app(
        TestConfig,
        {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url},
    )
    prepare_database(flask_app, with_demo=True)
    return flask_app


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture(scope="session")
def owner_engine(app: Flask):
    with app.app_context():
        return db.engine


@pytest.fixture
def owner_db(owner_engine) -> Iterator[Session]:
    """A session of its own on the privileged connection, for arranging and checking rows.

    Deliberately not ``db.session``: requests made by the test must not share it."""
    with Session(owner_engine) as session:
        yield session
        session.rollback()


class Visitor:
    """A browser on one host: a school's subdomain, or the platform when ``school`` is None."""

    def __init__(self, app: Flask, school: str | None):
        domain = app.config["APP_DOMAIN"]
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.host = f"{school}.{domain}" if school else domain
        self.base_url = f"http://{self.host}"

    def get(self, path: str, **kwargs):
        return self.client.get(path, base_url=self.base_url, **kwargs)

    def post(self, path: str, **kwargs):
        return self.client.post(path, base_url=self.base_url, **kwargs)

    def login(self, email: str, password: str = DEMO_PASSWORD) -> Visitor:
        response = self.post("/login/", data={"username": email, "password": password})
        landed = response.headers.get("Location", "")
        assert response.status_code == 302 and "/login" not in landed, f"login as {email} failed"
        return self


@pytest.fixture
def visit(app: Flask):
    """``visit("musicschool", "grace@musicschool.demo")`` → a signed-in Visitor."""

    def make(school: str | None, email: str | None = None) -> Visitor:
        visitor = Visitor(app, school)
        return visitor.login(email) if email else visitor

    return make


@pytest.fixture(scope="session")
def org_ids(app: Flask) -> dict[str, int]:
    from sqlalchemy import select

    from app.models import Organization

    with app.app_context(), privileged():
        ids = dict(db.session.execute(select(Organization.subdomain, Organization.id)).all())
        db.session.remove()
    return ids
