"""iCal feed: an instructor's feed with 2,000 bookings, against the SQL that fetches them.

    .venv/bin/python bench/ical.py [--runs 30] [--seed 7]

Builds its own school in a fresh database: one instructor with 2,000 bookings spread from 60
days back to 365 days ahead (the feed's window), each with a student's seat and notes, 40 of
them cancelled in the last 30 days (they stay in the feed as STATUS:CANCELLED). Embedded
PostgreSQL and Redis are started (and removed) unless ``DATABASE_URL`` / ``REDIS_URL`` are
set; then a database ``coursecove_bench_ical`` is created on that server, dropped first.

Measured in one run, in-process through the Flask test client (the whole stack: host → school,
token lookup, RLS), as the web application's role:
- ``feed_ms``: ``GET /calendar/feeds/<token>.ics``, the full 200 response, as a calendar app
  that sends no validators (Google Calendar) gets it;
- ``feed_cold_ms``: the same right after a booking changed (nothing of the feed cached);
- ``not_modified_ms``: the same with ``If-None-Match`` → ``304``;
- ``unknown_token_ms``: a feed URL with an unknown token (404): the request's fixed cost;
- ``baseline_ms``: plain SQL fetching those bookings with everything the events show (type,
  place, instructor, students and notes), building nothing;
``ratio`` = feed / baseline, ``cold_ratio`` = feed_cold / baseline. Medians (and p95) over
``--runs`` runs after a warm-up. The last line on stdout is one JSON object.
Targets (issue 10): full feed within 3x the baseline, 304 within 10 ms median.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBDOMAIN = "benchical"
DOMAIN = "coursecove.bench"
ZONE = "Europe/Paris"
BOOKINGS = 2_000
CANCELLED = 40
STUDENTS = 150
DATABASE = "coursecove_bench_ical"

log = logging.getLogger("bench.ical")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(function, runs: int) -> tuple[list[float], object]:
    function()  # warm-up
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


# --- engines and app ----------------------------------------------------------------------------


def start_engines(workdir: Path) -> tuple[str, str, list]:
    from sqlalchemy.engine import make_url

    from app.local_engines import create_database, postgres_url, start_postgres, start_redis

    started = []
    external = os.environ.get("DATABASE_URL")
    if external:
        create_database(external, DATABASE, drop_first=True)
        url = make_url(external).set(drivername="postgresql+psycopg", database=DATABASE)
        database_url = url.render_as_string(hide_password=False)
    else:
        server = start_postgres(workdir / "pgdata", cleanup_mode="delete")
        started.append(server)
        create_database(postgres_url(server, "postgres"), DATABASE)
        database_url = postgres_url(server, DATABASE)
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis, redis_url = start_redis(workdir / "redis")
        started.append(redis)
    return database_url, redis_url, started


def build_app(database_url: str, redis_url: str):
    from app import create_app
    from app.database import prepare_database
    from config import Config

    app = create_app(
        Config,
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "APP_DOMAIN": DOMAIN,
            "LOG_LEVEL": "WARNING",
            "RATELIMIT_ENABLED": False,
        },
    )
    prepare_database(app)
    return app


# --- the school -----------------------------------------------------------------------------------


def build_school(app, rng: random.Random) -> dict:
    """One instructor, 2,000 bookings in the feed window; returns what the measurements need."""
    import sqlalchemy as sa
    from flask_appbuilder.security.sqla.models import User
    from sqlalchemy.dialects.postgresql import Range

    from app.calendars import feeds
    from app.extensions import db
    from app.models import (
        AppointmentType,
        Booking,
        BookingAttendee,
        CalendarFeed,
        Location,
        Membership,
        MembershipRole,
        Organization,
    )
    from app.tenancy import privileged

    zone = ZoneInfo(ZONE)
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    with app.app_context(), privileged():
        session = db.session
        org = Organization(name="École de musique Bench", subdomain=SUBDOMAIN, time_zone=ZONE)
        session.add(org)
        session.flush()

        def people(prefix: str, count: int, role: MembershipRole) -> list[int]:
            users = [
                User(
                    username=f"{prefix}{n}@bench.test",
                    email=f"{prefix}{n}@bench.test",
                    first_name=f"Élève {prefix.title()}",
                    last_name=f"Nº{n} ♫",
                    active=True,
                    password="!",
                )
                for n in range(count)
            ]
            session.add_all(users)
            session.flush()
            members = [Membership(organization_id=org.id, user_id=u.id, role=role) for u in users]
            session.add_all(members)
            session.flush()
            return [m.id for m in members]

        (instructor,) = people("teacher", 1, MembershipRole.INSTRUCTOR)
        students = people("student", STUDENTS, MembershipRole.STUDENT)
        location = Location(organization_id=org.id, name="Salle Pleyel", address="252 rue du Fg")
        session.add(location)
        kind = AppointmentType(
            organization_id=org.id,
            name="Leçon de piano (45 min)",
            duration_minutes=45,
            capacity=1,
            location_modes=["in_person", "online"],
            buffer_after_minutes=0,
            buffer_before_minutes=0,
            price_cents=5000,
            currency="EUR",
            min_notice_hours=12,
            max_advance_days=400,
            cancellation_cutoff_hours=24,
            slot_step_minutes=15,
            color="#2563eb",
        )
        session.add(kind)
        session.flush()
        days = [today + timedelta(days=n) for n in range(-59, 365)]
        hours = [9, 10, 11, 13, 14, 15, 16, 17, 18]
        chosen = rng.sample([(d, h) for d in days for h in hours], BOOKINGS)
        rows, seats = [], []
        for n, (day, hour) in enumerate(sorted(chosen)):
            start = datetime.combine(day, clock_time(hour), zone).astimezone(UTC)
            end = start + timedelta(minutes=45)
            cancelled = n % (BOOKINGS // CANCELLED) == 0
            online = n % 3 == 0
            rows.append(
                {
                    "organization_id": org.id,
                    "appointment_type_id": kind.id,
                    "instructor_id": instructor,
                    "starts_at": start,
                    "ends_at": end,
                    "buffer_before_minutes": 0,
                    "buffer_after_minutes": 0,
                    "occupied": Range(start, end, bounds="[)"),
                    "location_mode": "online" if online else "in_person",
                    "location_id": None if online else location.id,
                    "meeting_link": f"https://meet.example/{n}" if online else None,
                    "capacity": 1,
                    "seats_taken": 0 if cancelled else 1,
                    "status": "cancelled" if cancelled else "confirmed",
                    "cancelled_at": now - timedelta(days=3) if cancelled else None,
                    "cancellation_reason": "Malade" if cancelled else None,
                    "sequence": 1 if cancelled else 0,
                    "created_at": now - timedelta(days=70),
                    "updated_at": now - timedelta(days=3 if cancelled else 70),
                }
            )
            seats.append(
                {
                    "organization_id": org.id,
                    "student_id": students[n % STUDENTS],
                    "during": Range(start, end, bounds="[)"),
                    "status": "cancelled" if cancelled else "confirmed",
                    "notes": f"Chopin, Nocturne op. 9 nº {n % 3 + 1} — pédale 🎹",
                }
            )
        session.execute(sa.insert(Booking), rows)
        ids = session.scalars(
            sa.select(Booking.id).where(Booking.organization_id == org.id).order_by(Booking.id)
        ).all()
        for booking_id, seat in zip(ids, seats, strict=True):
            seat["booking_id"] = booking_id
        session.execute(sa.insert(BookingAttendee), seats)
        feed = CalendarFeed(organization_id=org.id, kind="instructor", membership_id=instructor)
        feeds._new_secret(feed)
        session.add(feed)
        session.commit()
        token = feeds.feed_token(feed)
        session.execute(sa.text("ANALYZE"))
        session.commit()
        return {"org_id": org.id, "instructor": instructor, "token": token, "first": ids[1]}


# --- the measurements ----------------------------------------------------------------------------

BASELINE_SQL = """
    SELECT b.id, b.starts_at, b.ends_at, b.status, b.sequence, b.updated_at, b.created_at,
           b.location_mode, b.address, b.meeting_link, b.capacity, b.seats_taken,
           b.cancellation_reason, t.name, l.name, l.address, iu.first_name, iu.last_name,
           a.status, a.notes, su.first_name, su.last_name
    FROM bookings b
    JOIN appointment_types t ON t.id = b.appointment_type_id
    LEFT JOIN locations l ON l.id = b.location_id
    JOIN memberships im ON im.id = b.instructor_id JOIN ab_user iu ON iu.id = im.user_id
    LEFT JOIN booking_attendees a ON a.booking_id = b.id
    LEFT JOIN memberships sm ON sm.id = a.student_id LEFT JOIN ab_user su ON su.id = sm.user_id
    WHERE b.organization_id = :org AND b.instructor_id = :instructor
      AND b.starts_at >= :first AND b.starts_at < :stop
      AND (b.status = 'confirmed' OR b.cancelled_at >= :cancelled_since)
    ORDER BY b.starts_at, b.id"""


def measure(app, ids: dict, runs: int) -> dict:
    import icalendar
    import sqlalchemy as sa

    from app.calendars.feeds import feed_window
    from app.extensions import db
    from app.models import Booking
    from app.tenancy import privileged, tenant

    client = app.test_client()
    base_url = f"http://{SUBDOMAIN}.{DOMAIN}"
    path = f"/calendar/feeds/{ids['token']}.ics"

    def full():
        response = client.get(path, base_url=base_url)
        assert response.status_code == 200, response.status_code
        return response

    def not_modified():
        response = client.get(path, base_url=base_url, headers={"If-None-Match": etag})
        assert response.status_code == 304, response.status_code
        return response

    def touch():
        """A booking changes (as a reschedule would): the next full feed is built afresh."""
        with app.app_context(), privileged():
            db.session.execute(
                sa.update(Booking)
                .where(Booking.id == ids["first"])
                .values(sequence=Booking.sequence + 1)
            )
            db.session.commit()

    def cold():
        touch()
        started = time.perf_counter()
        full()
        return (time.perf_counter() - started) * 1000

    window = feed_window()
    bounds = {
        "org": ids["org_id"],
        "instructor": ids["instructor"],
        "first": window.starts,
        "stop": window.ends,
        "cancelled_since": window.cancelled_since,
    }

    def baseline():
        with app.app_context(), tenant(ids["org_id"]):
            rows = db.session.execute(sa.text(BASELINE_SQL), bounds).all()
            db.session.commit()
        return rows

    def unknown_token():
        """The same stack without the feed's work: host, school, token lookup, a 404."""
        response = client.get("/calendar/feeds/" + "x" * 43 + ".ics", base_url=base_url)
        assert response.status_code == 404, response.status_code

    base, rows = timed(baseline, runs)
    floor, _ = timed(unknown_token, runs)
    warm, response = timed(full, runs)
    etag = response.headers["ETag"]
    unchanged, _ = timed(not_modified, runs)
    cold_times = [cold() for _ in range(max(5, runs // 3))]
    events = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert len(events) == len(rows) == BOOKINGS - 0, (len(events), len(rows))
    results = {
        "feed_ms": statistics.median(warm),
        "feed_p95_ms": percentile(warm, 0.95),
        "feed_cold_ms": statistics.median(cold_times),
        "feed_cold_p95_ms": percentile(cold_times, 0.95),
        "not_modified_ms": statistics.median(unchanged),
        "not_modified_p95_ms": percentile(unchanged, 0.95),
        "unknown_token_ms": statistics.median(floor),
        "baseline_ms": statistics.median(base),
        "baseline_p95_ms": percentile(base, 0.95),
        "events": len(events),
        "feed_bytes": len(response.data),
    }
    results["ratio"] = results["feed_ms"] / results["baseline_ms"]
    results["cold_ratio"] = results["feed_cold_ms"] / results["baseline_ms"]
    return results


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    load = Path("/proc/loadavg").read_text().split()[0]
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "load1": float(load),
        "python": sys.version.split()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )
    workdir = Path(tempfile.mkdtemp(prefix="coursecove-bench-ical-"))
    started = []
    try:
        log.info("starting PostgreSQL and Redis in %s", workdir)
        database_url, redis_url, started = start_engines(workdir)
        app = build_app(database_url, redis_url)
        logging.getLogger().setLevel(logging.WARNING)
        log.warning("building the school (one instructor, 2,000 bookings)")
        ids = build_school(app, random.Random(args.seed))
        gc.collect()
        gc.freeze()
        log.warning("measuring, %d runs each", args.runs)
        results = measure(app, ids, args.runs)
        with app.app_context():
            from app.extensions import db

            for engine in db.engines.values():
                engine.dispose()
    finally:
        from app.local_engines import stop_engines

        stop_engines(started)
        shutil.rmtree(workdir, ignore_errors=True)
    rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in results.items()}
    summary = {
        "feed_ms": rounded.pop("feed_ms"),
        "not_modified_ms": rounded.pop("not_modified_ms"),
        "baseline_ms": rounded.pop("baseline_ms"),
        "ratio": rounded.pop("ratio"),
        **rounded,
        "runs": args.runs,
        "machine": machine(),
    }
    print(
        f"feed {summary['feed_ms']} ms (after a change {summary['feed_cold_ms']} ms), 304 "
        f"{summary['not_modified_ms']} ms, baseline {summary['baseline_ms']} ms, ratio "
        f"{summary['ratio']}",
        file=sys.stderr,
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
