"""Load: students, admins and calendar apps against gunicorn on loopback, for a bounded time.

    .venv/bin/python bench/load.py [--seconds 60] [--warmup 15] [--users 50] [--schools 50]
                                   [--workers 2] [--threads 1] [--think 0.5,2.0]
                                   [--gunicorn-config PATH]

Starts embedded PostgreSQL and Redis (unless ``DATABASE_URL`` / ``REDIS_URL`` are set; then a
database ``coursecove_bench_load`` is created there, dropped first), applies the migrations,
loads the demo and adds ``--schools`` schools of realistic data built with the app's models in
bulk (``bench/availability.py``'s school, smaller: 8 instructors, 80 students, 2 admins, 8
appointment types, weekly hours, time off, 600 lessons from two weeks back to six ahead, and
an iCal feed per instructor). Then gunicorn serves ``app:create_app()`` (preloaded, the
start-up objects frozen out of the GC, ``--workers`` sync workers) with a Celery worker beside
it, and ``--users`` virtual users run at once for ``--seconds``, each waiting ``--think``
seconds (uniform) between actions, on their school's subdomain (the ``Host`` header); what
happens in the first ``--warmup`` seconds (sign-ins, first renders) is not counted:

- students (60%) sign in through the real form, browse free times (the week page, and
  ``GET /api/availability``), and one action in five books: the week page, a time button,
  the confirm page, then the form posted with its CSRF token (a lesson someone took first is
  a 409, counted as ``taken``, not as an error);
- admins (10%) sign in and list the school's bookings (Flask-AppBuilder's list view);
- calendar apps (30%) poll an instructor's secret iCal feed with ``If-None-Match``.
Every user also fetches a trivial endpoint of the same server (``--trivial``, a static file)
one action in ten; ``ratio`` = p95 of booking (the POST) / p95 of that endpoint (and
``ratio_p50`` the same with medians).

With ``--gunicorn-config`` the server is started with that file instead of the flags above
(``-c PATH``; e.g. the ``make serve`` configuration). Rate limits are switched off for the
served app (``RATE_LIMITS=0``): they count per client address, and every virtual user here
comes from 127.0.0.1. Progress goes to stderr; the last line on stdout is one JSON object with
``rps``, ``p95_ms`` (every request), ``errors``, ``ratio``, ``availability_p95_ms`` and the
detail per endpoint.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import availability  # noqa: E402  (the bench school and its helpers)

DOMAIN = "load.coursecove.test"
DATABASE = "coursecove_bench_load"
SCHOOL_SIZE = availability.SchoolSize(
    instructors=8, qualified=5, students=80, bookings=600, time_off=6, admins=2
)
AVAILABILITY = ("week_page", "availability_api")

log = logging.getLogger("bench.load")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# --- the data -------------------------------------------------------------------------------


def seed(app, schools: int, rng: random.Random) -> list[dict]:
    """``schools`` bench schools next to the demo, and an iCal feed URL per instructor."""
    import sqlalchemy as sa

    from app.calendars import feeds
    from app.extensions import db
    from app.models import AppointmentType, Membership
    from app.tenancy import privileged

    built = []
    for n in range(schools):
        school = availability.build_school(
            app, rng, SCHOOL_SIZE, subdomain=f"load{n}", analyze=False
        )
        with app.app_context(), privileged():
            tokens = []
            for member_id in school["instructors"]:
                member = db.session.get(Membership, member_id)
                tokens += [feeds.feed_token(feed) for _, feed in feeds.ensure_feeds(member)]
            # The booking flow books what a student may book alone: no at-home address.
            school["bookable_types"] = db.session.scalars(
                sa.select(AppointmentType.id).where(
                    AppointmentType.organization_id == school["org_id"],
                    AppointmentType.capacity == 1,
                    ~AppointmentType.location_modes.any("at_home"),
                )
            ).all()
            db.session.commit()
        school["feed_tokens"] = tokens
        built.append(school)
        if (n + 1) % 10 == 0:
            log.warning("seeded %d schools", n + 1)
    with app.app_context(), privileged(), db.engine.connect() as connection:
        # What autovacuum does after bulk loads (VACUUM runs outside a transaction).
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            sa.text("VACUUM ANALYZE")
        )
    return built


# --- the processes --------------------------------------------------------------------------

# gunicorn settings when no --gunicorn-config is given: the app is built once in the master;
# before the workers fork, the master closes the database connections start-up opened (forked
# workers sharing one socket garble each other's replies: 500s at the first concurrent
# sign-ins), and what it built leaves the GC's generations (so a full collection in a worker
# does not walk the app's views, metadata and templates on a request).
GUNICORN_SETTINGS = """
import gc

preload_app = True


def when_ready(server):
    from app.extensions import db

    with server.app.wsgi().app_context():
        for engine in db.engines.values():
            engine.dispose()
    gc.collect()
    gc.freeze()
"""


class Stack:
    """PostgreSQL, Redis, gunicorn and a Celery worker, stopped together."""

    def __init__(self, workdir: Path, args: argparse.Namespace):
        self.workdir = workdir
        self.args = args
        self.children: list[subprocess.Popen] = []
        self.engines: list = []

    def start_engines(self) -> None:
        from sqlalchemy.engine import make_url

        from app.local_engines import create_database, postgres_url, start_postgres, start_redis

        database_url = os.environ.get("DATABASE_URL")
        if database_url:
            create_database(database_url, DATABASE, drop_first=True)
            url = make_url(database_url).set(drivername="postgresql+psycopg", database=DATABASE)
            database_url = url.render_as_string(hide_password=False)
        else:
            server = start_postgres(self.workdir / "pgdata", cleanup_mode="delete")
            self.engines.append(server)
            create_database(postgres_url(server, "postgres"), DATABASE)
            database_url = postgres_url(server, DATABASE)
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis_server, redis_url = start_redis(self.workdir / "redis.db")
            self.engines.append(redis_server)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "APP_DOMAIN": DOMAIN,
            "MAIL_BACKEND": "outbox",
            "RATE_LIMITS": "0",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update(self.env)  # before config is imported

    def start_servers(self) -> None:
        from app.local_engines import free_port

        self.port = free_port()
        if self.args.gunicorn_config:
            settings = ["-c", str(self.args.gunicorn_config)]
        else:
            config_file = self.workdir / "gunicorn_settings.py"
            config_file.write_text(GUNICORN_SETTINGS)
            settings = ["-c", str(config_file), "--workers", str(self.args.workers)]
            if self.args.threads > 1:
                settings += ["--threads", str(self.args.threads)]
        self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                *settings,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--backlog",
                "512",
                "app:create_app()",
            ],
        )
        self._spawn(
            "worker",
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
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                "bench-load@%h",
            ],
        )
        self._wait_until_ready()

    def _spawn(self, name: str, command: list[str]) -> None:
        output = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 (lives with the child)
        self.children.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def _wait_until_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in self.children):
                raise RuntimeError(f"a server exited early; see {self.workdir}")
            try:
                status, _, _ = request(self.port, "GET", DOMAIN, self.args.trivial, {})
                if status == 200:
                    time.sleep(2)  # every worker has forked by now
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within {timeout}s; see {self.workdir}")

    def stop(self) -> None:
        from app.local_engines import stop_engines, stop_process_groups

        stop_process_groups(self.children)
        stop_engines(self.engines)


# --- HTTP -----------------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    host: str,
    path: str,
    cookies: dict[str, str],
    form: dict | None = None,
    headers: dict | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh loopback connection (sync workers close after each response);
    ``cookies`` is updated from Set-Cookie, the browser's part."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        sent = {"Host": host, **(headers or {})}
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                cookies[cookie_name.strip()] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        connection.close()


CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
SLOT_LINK = re.compile(rb'class="btn btn-[a-z]+ btn-sm slot"[^>]*href="([^"]+)"')


@dataclass
class Results:
    """Latencies (ms) and outcomes per endpoint, shared by every virtual user."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: list[str] = field(default_factory=list)
    taken: int = 0
    booked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Requests that start before this (the warm-up: first renders, caches) are not counted.
    counting_from: float = 0.0

    def record(self, name: str, status: int, ms: float, ok: bool, what: str = "") -> None:
        if time.monotonic() - ms / 1000 < self.counting_from:
            return
        with self.lock:
            self.latencies[name].append(ms)
            self.statuses[name][status] += 1
            if not ok:
                self.errors.append(f"{name}: {status} {what}"[:300])


class VirtualUser:
    """One person (or calendar app) on one school's subdomain, until the deadline."""

    def __init__(self, port: int, school: dict, results: Results, args, rng: random.Random):
        self.port = port
        self.school = school
        self.host = f"{school['subdomain']}.{DOMAIN}"
        self.results = results
        self.args = args
        self.rng = rng
        self.cookies: dict[str, str] = {}

    def call(
        self,
        name: str,
        method: str,
        path: str,
        expect: tuple[int, ...] = (200,),
        form: dict | None = None,
        headers: dict | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        started = time.perf_counter()
        try:
            status, got_headers, body = request(
                self.port, method, self.host, path, self.cookies, form, headers
            )
        except OSError as problem:
            self.results.record(
                name, 0, (time.perf_counter() - started) * 1000, False, repr(problem)
            )
            raise
        ms = (time.perf_counter() - started) * 1000
        self.results.record(name, status, ms, status in expect, path)
        return status, got_headers, body

    def sign_in(self, username: str) -> None:
        _, _, page = self.call("sign_in_page", "GET", "/login/")
        token = CSRF.search(page)
        form = {
            "username": username,
            "password": availability.PASSWORD,
            "csrf_token": unescape(token.group(1).decode()) if token else "",
        }
        self.call("sign_in", "POST", "/login/", (302,), form)

    def run(self, deadline: float) -> None:
        try:
            self.start()
            while time.monotonic() < deadline:
                if self.rng.random() < 0.1:
                    self.call("trivial", "GET", self.args.trivial)
                else:
                    self.act()
                time.sleep(self.rng.uniform(*self.args.think))
        except OSError:
            pass  # recorded as an error; this user stops

    def start(self) -> None:
        """What the user does once (sign in)."""

    def act(self) -> None:
        raise NotImplementedError


class Student(VirtualUser):
    def start(self) -> None:
        self.sign_in(self.rng.choice(self.school["students"]))

    def week(self) -> str:
        monday = datetime.now(ZoneInfo(availability.ZONE)).date()
        monday += timedelta(days=7 * self.rng.randint(0, 3) - monday.weekday())
        return monday.isoformat()

    def act(self) -> None:
        type_id = self.rng.choice(self.school["bookable_types"])
        if self.rng.random() < 0.2:
            self.book(type_id)
        elif self.rng.random() < 0.5:
            self.call("week_page", "GET", f"/book/{type_id}/times?week={self.week()}")
        else:
            query = urlencode({"type": type_id, "from": self.week()})
            self.call("availability_api", "GET", f"/api/availability?{query}")

    def book(self, type_id: int) -> None:
        """The booking flow a browser goes through: week, time button, confirm page, POST."""
        _, _, page = self.call("week_page", "GET", f"/book/{type_id}/times?week={self.week()}")
        links = SLOT_LINK.findall(page)
        if not links:
            return  # a full week: a person would look at the next one
        confirm_url = unescape(self.rng.choice(links).decode())
        _, _, form_page = self.call("confirm_page", "GET", confirm_url)
        token = CSRF.search(form_page)
        form = {
            "csrf_token": unescape(token.group(1).decode()) if token else "",
            "notes": "",
            "repeat": "",
            "step": "book",
        }
        status, headers, _ = self.call("book", "POST", confirm_url, (302, 409), form)
        counted = time.monotonic() >= self.results.counting_from
        if status == 409 and counted:
            with self.results.lock:
                self.results.taken += 1
        elif status == 302 and counted:
            with self.results.lock:
                self.results.booked += 1
            location = headers.get("location", "")
            self.call("booking_detail", "GET", location.split(self.host, 1)[-1] or location)


class Admin(VirtualUser):
    def start(self) -> None:
        self.sign_in(self.rng.choice(self.school["admins"]))

    def act(self) -> None:
        self.call("admin_bookings", "GET", "/bookingview/list/")


class CalendarApp(VirtualUser):
    """A calendar application subscribed to an instructor's feed; it sends the ETag back."""

    def start(self) -> None:
        self.token = self.rng.choice(self.school["feed_tokens"])
        self.etag: str | None = None

    def act(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        _, got, _ = self.call(
            "ical_feed", "GET", f"/calendar/feeds/{self.token}.ics", (200, 304), headers=headers
        )
        self.etag = got.get("etag", self.etag)


def run_users(port: int, schools: list[dict], args) -> tuple[Results, float]:
    results = Results()
    rng = random.Random(args.seed)
    kinds = [Student] * 6 + [CalendarApp] * 3 + [Admin]
    users = [
        kinds[n % len(kinds)](port, rng.choice(schools), results, args, random.Random(n))
        for n in range(args.users)
    ]
    results.counting_from = time.monotonic() + args.warmup
    deadline = results.counting_from + args.seconds
    threads = [threading.Thread(target=u.run, args=(deadline,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.warmup + args.seconds + 60)
    return results, time.monotonic() - results.counting_from


# --- the report -----------------------------------------------------------------------------


def summary(results: Results, seconds: float, args, load_before: float) -> dict:
    everything = [ms for values in results.latencies.values() for ms in values]
    endpoints = {
        name: {
            "requests": len(values),
            "p50_ms": round(percentile(values, 0.50), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "statuses": dict(sorted(results.statuses[name].items())),
        }
        for name, values in sorted(results.latencies.items())
    }
    browsing = [ms for name in AVAILABILITY for ms in results.latencies.get(name, [])]

    def ratio(share: float) -> float | None:
        book = percentile(results.latencies.get("book", []), share)
        trivial = percentile(results.latencies.get("trivial", []), share)
        return round(book / trivial, 2) if trivial else None

    return {
        "rps": round(len(everything) / seconds, 1),
        "p95_ms": round(percentile(everything, 0.95), 1),
        "errors": len(results.errors),
        "ratio": ratio(0.95),
        "ratio_p50": ratio(0.50),
        "availability_p95_ms": round(percentile(browsing, 0.95), 1),
        "requests": len(everything),
        "seconds": round(seconds, 1),
        "warmup_s": args.warmup,
        "users": args.users,
        "booked": results.booked,
        "taken": results.taken,
        "endpoints": endpoints,
        "first_errors": results.errors[:5],
        "schools": args.schools,
        "gunicorn": str(args.gunicorn_config or f"{args.workers} sync workers, preloaded"),
        "threads": args.threads,
        "think_s": list(args.think),
        "load_before": load_before,
        "machine": availability.machine(),
    }


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--warmup", type=float, default=15, help="seconds of load before counting starts"
    )
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument(
        "--think",
        type=lambda text: tuple(float(x) for x in text.split(",")),
        default=(0.5, 2.0),
        help="seconds between one user's actions: min,max",
    )
    parser.add_argument("--trivial", default="/static/panel-forms.js")
    parser.add_argument("--gunicorn-config", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)  # a stopped bench stops what it started, too
    workdir = Path(tempfile.mkdtemp(prefix="coursecove-bench-load-"))
    stack = Stack(workdir, args)
    try:
        stack.start_engines()
        from app import create_app
        from app.database import prepare_database

        app = create_app()
        log.warning("migrations and the demo")
        prepare_database(app, with_demo=True)
        log.warning("seeding %d schools", args.schools)
        schools = seed(app, args.schools, random.Random(args.seed))
        with app.app_context():
            from app.extensions import db

            for engine in db.engines.values():
                engine.dispose()
        stack.start_servers()
        load_before = os.getloadavg()[0]
        log.warning("%d users for %ss on :%s", args.users, args.seconds, stack.port)
        results, seconds = run_users(stack.port, schools, args)
    finally:
        stack.stop()
        web_log = workdir / "web.log"
        if web_log.exists() and "Traceback" in web_log.read_text():
            kept = Path(tempfile.gettempdir()) / "coursecove-bench-load-web.log"
            shutil.copy(web_log, kept)
            log.warning("the server logged errors: %s", kept)
        shutil.rmtree(workdir, ignore_errors=True)
    report = summary(results, seconds, args, round(load_before, 2))
    for name, detail in report["endpoints"].items():
        print(
            f"{name:18} {detail['requests']:6} req  p50 {detail['p50_ms']:7.1f}  "
            f"p95 {detail['p95_ms']:7.1f}  p99 {detail['p99_ms']:7.1f} ms  {detail['statuses']}",
            file=sys.stderr,
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
