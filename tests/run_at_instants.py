"""Run the time-sensitive tests at a handful of fixed instants (part of ``make test``).

Each instant is a separate pytest run with ``--clock=INSTANT``, so the demo is loaded, and
every "tomorrow", "next week" and cutoff computed, as if the suite were started then. The
instants are the ones that have broken date code before: both DST changes in New York and in
London, the year end next to the demo's New Year's Day closure (on a Sunday evening), and a
leap day in the small hours UTC. Three lanes run side by side on one PostgreSQL (embedded, or
``TEST_DATABASE_URL``), each with a database and a Redis (or a ``TEST_REDIS_URL`` database
number) of its own.

    python -m tests.run_at_instants                      # every instant below, three at a time
    python -m tests.run_at_instants 2027-03-14T06:30:00Z # just this one

A failure prints that run's whole output and the ``pytest --clock=…`` line that repeats it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

INSTANTS = {
    "New York springs forward (01:30 EST)": "2027-03-14T06:30:00Z",
    "New York falls back (the first 01:30)": "2026-11-01T05:30:00Z",
    "London springs forward (00:30 GMT)": "2027-03-28T00:30:00Z",
    "London falls back (the first 01:30)": "2026-10-25T00:30:00Z",
    # Sunday 18:30 in New York, the evening before the demo's New Year's Day closure.
    "year end, on a Sunday evening": "2028-12-31T23:30:00Z",
    "leap day, in the small hours UTC": "2028-02-29T02:15:00Z",
}

# Where the outcome depends on "now": bookings, cutoffs, series, reminders, schedules, calendars
# and feeds, the demo data. Browser and whole-product tests, the fifty-way races (about locks,
# not dates), tests that start a real Celery worker (delivery, not dates), and the sign-up and
# outbox-panel mechanics run once, in the main run.
TIME_SENSITIVE = [
    "tests/booking/test_admin.py",
    "tests/booking/test_api.py",
    "tests/booking/test_booking_page.py",
    "tests/booking/test_dashboard.py",
    "tests/booking/test_day_hours.py",
    "tests/booking/test_disruptions.py",
    "tests/booking/test_group_classes.py",
    "tests/booking/test_series.py",
    "tests/booking/test_views.py",
    "tests/booking/test_week_hours.py",
    "tests/portal/test_views.py",
    "tests/notifications/test_booking.py",
    "tests/notifications/test_reminders.py",
    "tests/calendars/test_busy.py",
    "tests/calendars/test_feeds.py",
    "tests/calendars/test_ical.py",
    "tests/calendars/test_pages.py",
    "tests/test_database.py",
]
ROOT = Path(__file__).resolve().parent.parent
# No time-sensitive module uses them; loading them costs each of the six runs 1.2 s.
UNUSED_PLUGINS = ["-p", "no:hypothesispytest", "-p", "no:anyio"]


TEMPLATE_DATABASE = "coursecove_template"


def _shared_database_server(keep: list) -> str:
    """The caller's TEST_DATABASE_URL (its template from an earlier run dropped: it may hold
    older migrations), or an embedded PostgreSQL of this run's own."""
    from app.local_engines import postgres_url, start_postgres

    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        _drop_template(external)
        return external
    server = start_postgres(Path(tempfile.mkdtemp(prefix="coursecove-pg-")) / "data", "delete")
    keep.append(server)
    return postgres_url(server, "postgres")


def _drop_template(server_url: str) -> None:
    import psycopg
    from psycopg import sql

    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = sql.Identifier(TEMPLATE_DATABASE)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE_DATABASE,)
        ).fetchone():
            conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(name))
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))


def _lane_redis(lane: int, keep: list) -> str:
    """The caller's TEST_REDIS_URL with a database number for each lane (15, 14, ... from the
    URL's), or an embedded Redis of the lane's own."""
    from urllib.parse import urlsplit, urlunsplit

    from app.local_engines import start_redis

    external = os.environ.get("TEST_REDIS_URL")
    if external:
        parts = urlsplit(external)
        number = (int(parts.path.strip("/") or 0) - lane) % 16
        return urlunsplit(parts._replace(path=f"/{number}"))
    redis, url = start_redis(Path(tempfile.mkdtemp(prefix="coursecove-redis-")) / "redis.db")
    keep.append(redis)
    return url


def _lane_environment(lane: int, server_url: str, keep: list) -> dict[str, str]:
    return {
        **os.environ,
        "TEST_DATABASE_URL": server_url,
        "TEST_DATABASE_NAME": f"coursecove_lane{lane}",
        "TEST_TEMPLATE_DATABASE": TEMPLATE_DATABASE,
        "TEST_REDIS_URL": _lane_redis(lane, keep),
    }


def _run_lane(env: dict[str, str], instants: list[tuple[str, str]], paths: list[str]):
    """Run ``instants`` one after another on one lane's database and Redis."""
    results = []
    for name, instant in instants:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   *UNUSED_PLUGINS, f"--clock={instant}",
                   "-m", "not browser and not slow and not worker", *paths]  # fmt: skip
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        output = done.stdout + done.stderr
        last = output.strip().splitlines()[-1] if output.strip() else "(no output)"
        print(f"{instant} ({name}): {last}", flush=True)
        results.append((name, instant, done.returncode, output))
    return results


def run(instants: dict[str, str], jobs: int = 3) -> int:
    """Three lanes on two cores (a lane waiting on a sleep or a lock leaves the cores to the
    others), on one PostgreSQL: the first run to start builds the template every run's
    database is copied from, which saves each run its migrations and permissions."""
    paths = [p for p in TIME_SENSITIVE if (ROOT / p).exists()]
    items = list(instants.items())
    lanes = [items[n::jobs] for n in range(jobs) if items[n::jobs]]
    started = time.monotonic()
    keep: list = []
    try:
        server_url = _shared_database_server(keep)
        envs = [_lane_environment(n, server_url, keep) for n in range(len(lanes))]
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            done = pool.map(lambda pair: _run_lane(*pair, paths), zip(envs, lanes, strict=True))
            results = [result for lane in done for result in lane]
    finally:
        from app.local_engines import stop_engines

        stop_engines(keep)
    failed = [(instant, output) for _, instant, code, output in results if code != 0]
    for instant, output in failed:
        print(f"\n=== failed at {instant}: run again with pytest --clock={instant}\n{output}")
    print(f"all instants in {time.monotonic() - started:.0f} s")
    print(f"instants: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    chosen = {text: text for text in sys.argv[1:]} or INSTANTS
    sys.exit(run(chosen))
