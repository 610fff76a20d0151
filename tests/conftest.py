"""Fixtures: real PostgreSQL and Redis (embedded unless TEST_DATABASE_URL / TEST_REDIS_URL),
a migrated database with the demo schools, visitors that browse a school's subdomain, and the
application clock, frozen for the whole run (``--clock`` or ``COURSECOVE_CLOCK`` say when)."""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg.sql
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import clock, create_app
from app.demo import DEMO_PASSWORD, load_demo
from app.extensions import db
from app.local_engines import (
    create_database,
    free_port,
    postgres_url,
    start_postgres,
    start_redis,
)
from app.tenancy import privileged
from config import TestConfig, sqlalchemy_url

# Under pytest-xdist each worker has its own database (and, on external servers, its own Redis
# database number), so two workers never see each other's rows or Celery messages;
# tests.run_at_instants names one database per lane.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEST_DATABASE = (
    os.environ.get("TEST_DATABASE_NAME") or f"coursecove_test{XDIST_WORKER.removeprefix('gw')}"
)
# Set by tests.run_at_instants, whose runs share one server: the first run builds this database
# (migrations, roles, permissions) and every run copies its own from it, then loads the demo at
# its own instant.
TEMPLATE_DATABASE = os.environ.get("TEST_TEMPLATE_DATABASE")


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


@contextmanager
def _one_worker_at_a_time() -> Iterator[None]:
    """Serialise work on a shared external server that creates server-wide things (the app
    role): two xdist workers creating it at once would collide."""
    with open(Path(tempfile.gettempdir()) / "coursecove-test-setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _worker_redis_database(url: str) -> str:
    """``redis://host/15`` for the first xdist worker, ``/14`` for the second, and so on."""
    if not XDIST_WORKER:
        return url
    parts = urlsplit(url)
    number = (int(parts.path.strip("/") or 0) - int(XDIST_WORKER.removeprefix("gw"))) % 16
    return urlunsplit(parts._replace(path=f"/{number}"))


def _build_template_once(server_url: str, redis_url: str) -> None:
    """Build TEMPLATE_DATABASE unless a run before this one did (it is marked a template only
    once complete; a half-built one left by a crash is built again)."""
    conninfo = make_url(sqlalchemy_url(server_url)).set(drivername="postgresql")
    conninfo = conninfo.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = conn.execute(
            "SELECT datistemplate FROM pg_database WHERE datname = %s", (TEMPLATE_DATABASE,)
        ).fetchone()
    if found and found[0]:
        return
    create_database(server_url, TEMPLATE_DATABASE, drop_first=True)
    url = make_url(sqlalchemy_url(server_url)).set(database=TEMPLATE_DATABASE)
    builder = create_app(
        TestConfig,
        {"DATABASE_URL": url.render_as_string(hide_password=False), "REDIS_URL": redis_url},
    )
    from app.database import prepare_database

    prepare_database(builder)
    with builder.app_context():
        for engine in db.engines.values():
            engine.dispose()  # a database being copied must have no one connected
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(
                psycopg.sql.Identifier(TEMPLATE_DATABASE)
            )
        )


@pytest.fixture(scope="session")
def database_url(redis_url: str) -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        with _one_worker_at_a_time():
            if TEMPLATE_DATABASE:
                _build_template_once(external, redis_url)
            create_database(external, TEST_DATABASE, drop_first=True, template=TEMPLATE_DATABASE)
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
        yield _worker_redis_database(external)
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
    if TEMPLATE_DATABASE:  # a copy of a prepared database: only this run's demo is missing
        with flask_app.app_context(), privileged():
            load_demo()
    elif os.environ.get("TEST_DATABASE_URL"):
        with _one_worker_at_a_time():  # the app role is created once per server
            prepare_database(flask_app, with_demo=True)
    else:
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


@contextmanager
def statements_run(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run inside the block, on any of the app's engines."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with app.app_context():
        engines = set(db.engines.values())
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", record)


# --- mail -------------------------------------------------------------------------------------


class Mailbox:
    """Messages received by the test SMTP server.

    Through the ``mailbox`` fixture, reading (``to``, ``wait_for``) first sends, in this
    process, the e-mails the test queued: the worker's own code (``Outbox.send``), so tests
    of pages that mail need no worker. ``tests/notifications`` reads without it and runs a
    real worker."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.before_reading = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Addresses at refused.test are refused, as a real server refuses an unknown user.
        if address.lower().endswith("@refused.test"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        with self._lock:
            message = message_from_bytes(envelope.content, policy=policy.default)
            message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 Message accepted"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def _send_queued(self) -> None:
        if self.before_reading is not None:
            self.before_reading()

    def to(self, address: str) -> list[EmailMessage]:
        self._send_queued()
        return [m for m in self.messages if address in m["X-Envelope-To"]]

    def wait_for(self, count: int, seconds: float = 5) -> list[EmailMessage]:
        self._send_queued()
        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)


@pytest.fixture(scope="session")
def smtp_server(app: Flask) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield box
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox, outbox) -> Iterator[Mailbox]:
    smtp_server.clear()
    smtp_server.before_reading = outbox.send
    yield smtp_server
    smtp_server.before_reading = None


class Outbox:
    """The notifications queued since the test began, sent from this process by the same
    code the Celery worker runs (tests that need the real worker start one)."""

    def __init__(self, app: Flask):
        self.app = app
        self.first_id = self._next_id()

    def _next_id(self) -> int:
        import sqlalchemy as sa

        from app.models import Notification

        with self.app.app_context(), privileged():
            last = db.session.scalar(sa.select(sa.func.max(Notification.id)))
            db.session.remove()
        return (last or 0) + 1

    def send(self) -> int:
        """Send what was queued since the test began; the number of messages sent."""
        import sqlalchemy as sa

        from app.models import Notification
        from app.notifications.delivery import deliver

        with self.app.app_context(), privileged():
            ids = db.session.scalars(
                sa.select(Notification.id)
                .where(Notification.id >= self.first_id, Notification.status == "pending")
                .order_by(Notification.id)
            ).all()
            db.session.commit()
            sent = len(deliver(ids).sent) if ids else 0
            db.session.remove()
        return sent


@pytest.fixture
def outbox(app: Flask, smtp_server: Mailbox) -> Outbox:
    return Outbox(app)


def body(message: EmailMessage) -> str:
    """The plain-text part of a message."""
    return message.get_body(("plain",)).get_content()


# --- people a test creates ------------------------------------------------------------------


class People:
    """New addresses for one test; every row they led to is deleted afterwards."""

    def __init__(self, app: Flask):
        self.app = app
        self.emails: list[str] = []

    def new(self, name: str = "person") -> str:
        email = f"{name}-{time.time_ns()}@example.org"
        self.emails.append(email)
        return email

    def remember(self, email: str) -> str:
        self.emails.append(email.lower())
        return email

    def remove(self) -> None:
        if not self.emails:
            return
        users = "(SELECT id FROM ab_user WHERE lower(email) = ANY(:emails))"
        with self.app.app_context(), privileged():
            for statement in (
                f"DELETE FROM password_resets WHERE user_id IN {users}",
                f"DELETE FROM invitations WHERE user_id IN {users} OR invited_by_id IN {users}",
                f"DELETE FROM memberships WHERE user_id IN {users}",
                f"DELETE FROM ab_user_role WHERE user_id IN {users}",
                "DELETE FROM ab_user WHERE lower(email) = ANY(:emails)",
            ):
                db.session.execute(sa.text(statement), {"emails": self.emails})
            db.session.commit()
            db.session.remove()


@pytest.fixture
def people(app: Flask) -> Iterator[People]:
    created = People(app)
    yield created
    created.remove()


# --- a real HTTP server and a real browser ---------------------------------------------------


@dataclass
class LiveServer:
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def server_settings(app: Flask, **extra) -> dict:
    """What a server process needs to serve the test database like the session's app."""
    keys = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MAIL_SERVER", "MAIL_PORT")
    return {**{key: app.config[key] for key in keys}, **extra}


@pytest.fixture(scope="session")
def live_server(app: Flask, smtp_server) -> Iterator[LiveServer]:
    from tests.live_server import serving

    with serving(server_settings(app)) as port:
        yield LiveServer(port)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class BrowserSite:
    """The app served on 127.0.0.1 with ``APP_DOMAIN=localhost:<port>``: chromium resolves
    ``musicschool.localhost`` to loopback by itself."""

    port: int

    def url(self, school: str | None, path: str = "/") -> str:
        host = f"{school}.localhost" if school else "localhost"
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="session")
def browser_site(app: Flask, smtp_server) -> Iterator[BrowserSite]:
    """One live server for every browser test, with CSRF protection on, as in production."""
    from tests.live_server import serving

    port = free_port()
    settings = server_settings(app, APP_DOMAIN=f"localhost:{port}", WTF_CSRF_ENABLED=True)
    with serving(settings, port=port):
        yield BrowserSite(port)


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, driven by Playwright (never a downloaded browser build): one browser
    per test process, since every test has a fresh context (its own cookies and cache)."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def new_page(chromium):
    """``new_page(viewport=PHONE, timezone_id="Europe/Paris")`` → a page in a fresh browser
    context (its own cookies), closed after the test."""
    contexts = []

    def make(viewport: dict = DESKTOP, timezone_id: str = "America/New_York", **options):
        context = chromium.new_context(viewport=viewport, timezone_id=timezone_id, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


# (port, school, email, password) → the cookies and the page a sign-in by the form ended with.
_SIGNED_IN: dict[tuple, tuple[list, str]] = {}


def sign_in(
    page,
    site: BrowserSite,
    school: str | None,
    email: str,
    password: str = DEMO_PASSWORD,
    *,
    through_the_form: bool = False,
):
    """Sign in as a person does: typing into the login form.

    A person signed in once in this process comes back with the session cookie the form gave
    them (Playwright's "authenticate once"), which saves two page loads a test; when that
    session has ended (signed out, a new password), the form is used again.
    ``through_the_form=True`` always types, for tests whose subject is signing in."""
    key = (site.port, school, email, password)
    if not through_the_form and key in _SIGNED_IN:
        cookies, landing = _SIGNED_IN[key]
        page.context.add_cookies(cookies)
        page.goto(landing)
        if page.locator("form.sign-out").count():
            return
        page.context.clear_cookies()
    page.goto(site.url(school, "/login/"))
    page.get_by_label(re.compile("Username|E-?mail", re.I)).first.fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("Sign in|Log ?in", re.I)).click()
    page.wait_for_url(lambda url: "/login" not in url)
    _SIGNED_IN[key] = (page.context.cookies(), page.url)
