"""Availability: the scheduling core's answer against the SQL that feeds it, and the page.

    .venv/bin/python bench/availability.py [--runs 40] [--seed 4] [--scale 1] [--no-gc-freeze]

Builds its own school in a fresh database: 20 instructors, 8 appointment types (the asked one
taught by 12 of them, in person at 3 locations and online), weekly hours (Mon–Fri 09–12 and
13–18:30, Saturday 10–14), 30 time-off ranges and a school closure, and 5,000 bookings from
two weeks ago to eight weeks ahead, each with a student's seat. Embedded PostgreSQL is started
(and removed) unless ``DATABASE_URL`` is set; then a database ``coursecove_bench_availability``
is created on that server, dropped first. (Redis plays no part in this path.)

The question is "4 weeks of one type, any instructor, any mode". Measured in one run, as the
web application's role with Row-Level Security on:
- ``baseline_ms``: plain SQL fetching every row the answer depends on (qualifications, hours,
  overrides, time off and closures, bookings, the type's locations), building nothing;
- ``core_ms``: from those rows to the answer: the loader's conversion into the core's values
  (``build_calendar``), the core's index and ``available_slots``; ``ratio`` = core / baseline;
- ``answer_ms``: the whole thing as the page and the API do it (``service.free_slots``:
  queries through SQLAlchemy, conversion, core), ``answer_ratio`` = answer / baseline;
- ``page_ms``: the booking page for one week (``GET /book/<type>/times``), in-process
  through the Flask test client, signed in as a student.
Medians and p95 over ``--runs`` runs after a warm-up. Progress goes to stderr; the last line
on stdout is one JSON object with ``core_ms``, ``baseline_ms``, ``ratio``, ``page_ms`` and more.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBDOMAIN = "benchschool"
DOMAIN = "coursecove.bench"
ZONE = "America/New_York"
# The school at --scale 1; --scale N multiplies people, time off and bookings by N (the
# types, locations and hours stay: a bigger school, not a different one).
INSTRUCTORS = 20
QUALIFIED = 12
STUDENTS = 300
BOOKINGS = 5_000
TIME_OFF = 30


@dataclass(frozen=True)
class SchoolSize:
    """How many of each a bench school has (bench/load.py builds 50 smaller ones)."""

    instructors: int = INSTRUCTORS
    qualified: int = QUALIFIED  # for the asked type
    students: int = STUDENTS
    bookings: int = BOOKINGS
    time_off: int = TIME_OFF
    admins: int = 0

    @classmethod
    def at(cls, scale: int) -> SchoolSize:
        return cls(*(n * scale for n in (INSTRUCTORS, QUALIFIED, STUDENTS, BOOKINGS, TIME_OFF)))


DATABASE = "coursecove_bench_availability"
PASSWORD = "bench-password"  # every bench person's; a cheap hash, signing in is not measured here

log = logging.getLogger("bench.availability")

TYPES = [  # name, minutes, capacity, modes, buffer after
    ("Piano 45", 45, 1, ["in_person", "online"], 5),
    ("Piano 30", 30, 1, ["in_person", "online"], 5),
    ("Piano 60", 60, 1, ["in_person"], 10),
    ("Violin 45", 45, 1, ["in_person", "online"], 0),
    ("Guitar 30", 30, 1, ["online"], 0),
    ("Theory 60", 60, 1, ["online"], 0),
    ("Choir", 90, 12, ["in_person"], 15),
    ("Home lesson 60", 60, 1, ["at_home"], 30),
]
ASKED = "Piano 45"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- engines and app ----------------------------------------------------------------------------


def start_database(workdir: Path) -> tuple[str, object | None]:
    from sqlalchemy.engine import make_url

    from app.local_engines import create_database, postgres_url, start_postgres

    external = os.environ.get("DATABASE_URL")
    if external:
        create_database(external, DATABASE, drop_first=True)
        url = make_url(external).set(drivername="postgresql+psycopg", database=DATABASE)
        return url.render_as_string(hide_password=False), None
    server = start_postgres(workdir / "pgdata", cleanup_mode="delete")
    create_database(postgres_url(server, "postgres"), DATABASE)
    return postgres_url(server, DATABASE), server


def build_app(database_url: str):
    from app import create_app
    from app.database import prepare_database
    from config import Config

    app = create_app(
        Config,
        {
            "DATABASE_URL": database_url,
            "APP_DOMAIN": DOMAIN,
            "LOG_LEVEL": "WARNING",
            "RATELIMIT_ENABLED": False,
        },
    )
    prepare_database(app)
    return app


# --- the school -----------------------------------------------------------------------------------


def build_school(
    app,
    rng: random.Random,
    size: SchoolSize = SchoolSize(),
    subdomain: str = SUBDOMAIN,
    analyze: bool = True,
) -> dict:
    """Insert the school on the owner connection; returns ids the measurements need."""
    import sqlalchemy as sa
    from flask_appbuilder.security.sqla.models import User
    from werkzeug.security import generate_password_hash

    from app.extensions import db
    from app.models import (
        AppointmentType,
        Booking,
        BookingAttendee,
        InstructorQualification,
        Location,
        Membership,
        MembershipRole,
        Organization,
        SchoolClosure,
        TimeOff,
        WorkingHours,
        appointment_type_locations,
    )
    from app.tenancy import privileged

    zone = ZoneInfo(ZONE)
    today = datetime.now(zone).date()
    with app.app_context(), privileged():
        session = db.session
        org = Organization(
            name=f"Bench Music School {subdomain}", subdomain=subdomain, time_zone=ZONE
        )
        session.add(org)
        session.flush()
        password = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

        def people(prefix: str, count: int, role: MembershipRole) -> list[int]:
            users = [
                User(
                    username=f"{prefix}{n}@{subdomain}.test",
                    email=f"{prefix}{n}@{subdomain}.test",
                    first_name=prefix.title(),
                    last_name=str(n),
                    active=True,
                    password=password,
                )
                for n in range(count)
            ]
            session.add_all(users)
            session.flush()
            members = [Membership(organization_id=org.id, user_id=u.id, role=role) for u in users]
            session.add_all(members)
            session.flush()
            return [m.id for m in members]

        instructors = people("teacher", size.instructors, MembershipRole.INSTRUCTOR)
        students = people("student", size.students, MembershipRole.STUDENT)
        people("admin", size.admins, MembershipRole.ADMIN)
        locations = [Location(organization_id=org.id, name=f"Studio {n}") for n in range(3)]
        session.add_all(locations)
        session.flush()
        types = {}
        for name, minutes, capacity, modes, after in TYPES:
            kind = AppointmentType(
                organization_id=org.id,
                name=name,
                duration_minutes=minutes,
                capacity=capacity,
                location_modes=modes,
                buffer_after_minutes=after,
                buffer_before_minutes=0,
                price_cents=5000,
                currency="USD",
                min_notice_hours=12,
                max_advance_days=90,
                cancellation_cutoff_hours=24,
                slot_step_minutes=15,
                color="#2563eb",
            )
            session.add(kind)
            session.flush()
            types[name] = kind
            if "in_person" in modes:
                session.execute(
                    sa.insert(appointment_type_locations),
                    [
                        {
                            "organization_id": org.id,
                            "appointment_type_id": kind.id,
                            "location_id": loc.id,
                        }
                        for loc in locations
                    ],
                )
        for n, instructor in enumerate(instructors):
            taught = {ASKED} if n < size.qualified else set()
            taught |= set(rng.sample([t[0] for t in TYPES], 3))
            session.add_all(
                InstructorQualification(
                    organization_id=org.id,
                    instructor_id=instructor,
                    appointment_type_id=types[name].id,
                )
                for name in sorted(taught)
            )
        hours = []
        for n, instructor in enumerate(instructors):
            place = locations[n % 3].id
            for weekday in range(5):
                hours.append(
                    dict(
                        instructor_id=instructor,
                        weekday=weekday,
                        start_time=clock(9),
                        end_time=clock(12),
                        location_id=place,
                        location_modes=["in_person", "online", "at_home"],
                    )
                )
                hours.append(
                    dict(
                        instructor_id=instructor,
                        weekday=weekday,
                        start_time=clock(13),
                        end_time=clock(18, 30),
                        location_id=None,
                        location_modes=["in_person", "online", "at_home"],
                    )
                )
            hours.append(
                dict(
                    instructor_id=instructor,
                    weekday=5,
                    start_time=clock(10),
                    end_time=clock(14),
                    location_id=None,
                    location_modes=["online"],
                )
            )
        session.execute(sa.insert(WorkingHours), [{"organization_id": org.id, **h} for h in hours])
        for _ in range(size.time_off):
            first = today + timedelta(days=rng.randint(-10, 50))
            session.add(
                TimeOff(
                    organization_id=org.id,
                    instructor_id=rng.choice(instructors),
                    first_day=first,
                    last_day=first + timedelta(days=rng.randint(0, 3)),
                    reason="Away",
                )
            )
        holiday = today + timedelta(days=18)
        session.add(
            SchoolClosure(
                organization_id=org.id, name="Holiday", first_day=holiday, last_day=holiday
            )
        )
        session.flush()
        bookings, attendees = _bookings(
            org.id, instructors, students, types, locations, today, zone, rng, size.bookings
        )
        session.execute(sa.insert(Booking), bookings)
        ids = session.scalars(
            sa.select(Booking.id).where(Booking.organization_id == org.id).order_by(Booking.id)
        ).all()
        for booking_id, attendee in zip(ids, attendees, strict=True):
            attendee["booking_id"] = booking_id
        session.execute(sa.insert(BookingAttendee), attendees)
        session.commit()
        if analyze:
            session.execute(sa.text("ANALYZE"))
            session.commit()
        return {
            "org_id": org.id,
            "subdomain": subdomain,
            "type_id": types[ASKED].id,
            "student_user": session.scalar(
                sa.select(Membership.user_id).where(Membership.id == students[0])
            ),
            "instructors": instructors,
            "students": [f"student{n}@{subdomain}.test" for n in range(size.students)],
            "admins": [f"admin{n}@{subdomain}.test" for n in range(size.admins)],
        }


def _bookings(org_id, instructors, students, types, locations, today, zone, rng, count):
    """``count`` lessons inside the instructors' hours, never overlapping (buffers included) per
    instructor, and never two at once for a student."""
    from sqlalchemy.dialects.postgresql import Range

    taught = [(name, kind) for name, kind in types.items() if kind.capacity == 1]
    days = [today + timedelta(days=n) for n in range(-14, 56)]
    busy: dict[int, list[tuple[datetime, datetime]]] = {i: [] for i in instructors}
    student_busy: dict[int, list[tuple[datetime, datetime]]] = {s: [] for s in students}
    bookings, attendees = [], []
    while len(bookings) < count:
        day = rng.choice(days)
        if day.weekday() == 6:
            continue
        instructor = rng.choice(instructors)
        name, kind = rng.choice(taught)
        window = (9 * 60, 12 * 60) if rng.random() < 0.4 else (13 * 60, 18 * 60 + 30)
        if day.weekday() == 5:
            window = (10 * 60, 14 * 60)
        latest = window[1] - kind.duration_minutes
        if latest < window[0]:
            continue
        minute = window[0] + 15 * rng.randint(0, (latest - window[0]) // 15)
        start = datetime.combine(day, clock(minute // 60, minute % 60), zone).astimezone(UTC)
        end = start + timedelta(minutes=kind.duration_minutes)
        occupied = (start, end + timedelta(minutes=kind.buffer_after_minutes))
        if any(a < occupied[1] and occupied[0] < b for a, b in busy[instructor]):
            continue
        student = rng.choice(students)
        if any(a < end and start < b for a, b in student_busy[student]):
            continue
        busy[instructor].append(occupied)
        student_busy[student].append((start, end))
        mode = rng.choice(kind.location_modes)
        bookings.append(
            {
                "organization_id": org_id,
                "appointment_type_id": kind.id,
                "instructor_id": instructor,
                "starts_at": start,
                "ends_at": end,
                "buffer_before_minutes": 0,
                "buffer_after_minutes": kind.buffer_after_minutes,
                "occupied": Range(*occupied, bounds="[)"),
                "location_mode": mode,
                "location_id": rng.choice(locations).id if mode == "in_person" else None,
                "capacity": 1,
                "seats_taken": 1,
                "status": "confirmed",
            }
        )
        attendees.append(
            {
                "organization_id": org_id,
                "student_id": student,
                "during": Range(start, end, bounds="[)"),
                "status": "confirmed",
            }
        )
    return bookings, attendees


# --- the measurements ----------------------------------------------------------------------------

BASELINE_SQL = {
    # The rows the answer depends on, as plain SQL, in the order and shape the loader asks
    # for them (app/booking/schedule_data.py): who may teach the type, then their hours, date
    # overrides, time off and closures, and bookings, and where the type is taught.
    "qualifications": """
        SELECT q.appointment_type_id, q.instructor_id FROM instructor_qualifications q
        JOIN memberships m ON m.id = q.instructor_id AND m.organization_id = q.organization_id
        WHERE q.organization_id = :org AND q.appointment_type_id = :type AND m.active
          AND m.role = 'instructor'""",
    "windows": """
        SELECT instructor_id, weekday, start_time, end_time, location_id, location_modes,
               effective_from, effective_until FROM working_hours
        WHERE organization_id = :org AND instructor_id = ANY(:instructors)
          AND (effective_from IS NULL OR effective_from < :stop)
          AND (effective_until IS NULL OR effective_until >= :first)""",
    "overrides": """
        SELECT instructor_id, day, start_time, end_time, location_id, location_modes
        FROM hours_overrides WHERE organization_id = :org AND instructor_id = ANY(:instructors)
          AND day >= :first AND day < :stop""",
    "time_off": """
        SELECT instructor_id, first_day, last_day FROM time_off
        WHERE organization_id = :org AND instructor_id = ANY(:instructors)
          AND last_day >= :first - 1 AND first_day <= :stop
        UNION ALL SELECT NULL, first_day, last_day FROM school_closures
        WHERE organization_id = :org AND last_day >= :first - 1 AND first_day <= :stop""",
    "bookings": """
        SELECT instructor_id, appointment_type_id, starts_at, ends_at, buffer_before_minutes,
               buffer_after_minutes, seats_taken, capacity, location_mode, location_id, id
        FROM bookings WHERE organization_id = :org AND instructor_id = ANY(:instructors)
          AND status = 'confirmed' AND occupied && tstzrange(:utc_first, :utc_stop, '[)')""",
    "locations": """
        SELECT location_id FROM appointment_type_locations
        WHERE organization_id = :org AND appointment_type_id = :type""",
}


def timed(function, runs: int) -> tuple[list[float], object]:
    result = function()  # warm-up: caches, prepared statements, the first connection
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def measure(app, ids: dict, runs: int) -> dict:
    import sqlalchemy as sa

    from app.booking import service
    from app.booking.schedule_data import (
        CalendarRows,
        appointment_type_spec,
        build_calendar,
        build_qualifications,
        local_midnight,
    )
    from app.extensions import db
    from app.models import AppointmentType
    from app.scheduling import SlotQuery, available_slots
    from app.tenancy import tenant

    zone = ZoneInfo(ZONE)
    first = datetime.now(zone).date() + timedelta(days=1)
    stop = first + timedelta(days=28)
    with app.app_context(), tenant(ids["org_id"]):
        kind = db.session.get(AppointmentType, ids["type_id"])
        db.session.commit()
        statements = {name: sa.text(sql) for name, sql in BASELINE_SQL.items()}
        bounds = {
            "org": ids["org_id"],
            "type": ids["type_id"],
            "first": first,
            "stop": stop,
            "utc_first": local_midnight(first, zone) - timedelta(days=1),
            "utc_stop": local_midnight(stop, zone) + timedelta(days=1),
        }

        def baseline() -> dict:
            """Plain SQL: fetch every row the answer needs, build nothing."""
            connection = db.session.connection()
            rows = {
                "qualifications": connection.execute(statements["qualifications"], bounds).all()
            }
            qualified = {"instructors": sorted({i for _, i in rows["qualifications"]})}
            for name in ("windows", "overrides", "time_off", "bookings", "locations"):
                rows[name] = connection.execute(statements[name], {**bounds, **qualified}).all()
            db.session.commit()
            return rows

        def core(rows: dict):
            """From those rows to the answer: the core's values, its index, the slots."""
            calendar = build_calendar(
                ZONE,
                build_qualifications(rows["qualifications"]),
                CalendarRows(
                    rows["windows"], rows["overrides"], rows["time_off"], rows["bookings"]
                ),
            )
            spec = appointment_type_spec(kind, [loc for (loc,) in rows["locations"]])
            return available_slots(SlotQuery(spec, first, stop), calendar, datetime.now(UTC))

        def answer():
            """What the page and the API do: the service's free_slots, queries included."""
            slots = service.free_slots(kind, first, stop)
            db.session.commit()
            return slots

        base, rows = timed(baseline, runs)
        computed, slots = timed(lambda: core(rows), runs)
        whole, answered = timed(answer, runs)
        assert answered == slots, "the service and the core on plain rows must agree"
    results = {
        "core_ms": statistics.median(computed),
        "core_p95_ms": percentile(computed, 0.95),
        "baseline_ms": statistics.median(base),
        "baseline_p95_ms": percentile(base, 0.95),
        "answer_ms": statistics.median(whole),
        "answer_p95_ms": percentile(whole, 0.95),
        "slots": len(slots),
        "instructor_offers": sum(len(s.instructor_ids) for s in slots),
        "booking_rows": len(rows["bookings"]),
    }
    results["page_ms"], results["page_p95_ms"], results["page_slots"] = _page(app, ids, runs)
    results["ratio"] = results["core_ms"] / results["baseline_ms"]
    results["answer_ratio"] = results["answer_ms"] / results["baseline_ms"]
    return results


def _page(app, ids: dict, runs: int) -> tuple[float, float, int]:
    """GET the week view as a signed-in student, through the whole Flask stack."""
    client = app.test_client()
    with client.session_transaction() as browser_session:
        browser_session["_user_id"] = str(ids["student_user"])
        browser_session["_fresh"] = True
    next_monday = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=7)
    next_monday -= timedelta(days=next_monday.weekday())
    url = f"/book/{ids['type_id']}/times?week={next_monday.isoformat()}"
    base_url = f"http://{SUBDOMAIN}.{DOMAIN}"

    def get():
        response = client.get(url, base_url=base_url)
        assert response.status_code == 200, response.status_code
        return response.data

    times, page = timed(get, runs)
    return statistics.median(times), percentile(times, 0.95), page.count(b'class="btn btn-')


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(memory_kb / 1024**2, 1),
        "python": sys.version.split()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="multiply instructors, students, time off and bookings (10: 200 instructors, "
        "50,000 bookings)",
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the start-up objects to the cyclic GC (p95 then shows "
        "its ~120 ms full collections)",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )
    workdir = Path(tempfile.mkdtemp(prefix="coursecove-bench-availability-"))
    server = None
    try:
        log.info("starting PostgreSQL in %s", workdir)
        database_url, server = start_database(workdir)
        app = build_app(database_url)
        logging.getLogger().setLevel(logging.WARNING)
        size = SchoolSize.at(args.scale)
        log.warning(
            "building the school (%d instructors, 8 types, %d bookings)",
            size.instructors,
            size.bookings,
        )
        ids = build_school(app, random.Random(args.seed), size)
        if not args.no_gc_freeze:
            # What a pre-loading server does after start-up: the app's long-lived objects
            # (metadata, views, templates) leave the GC's generations, so a full collection
            # no longer walks them on a request.
            gc.collect()
            gc.freeze()
        log.warning("measuring, %d runs each", args.runs)
        results = measure(app, ids, args.runs)
        with app.app_context():
            from app.extensions import db

            for engine in db.engines.values():
                engine.dispose()
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in results.items()}
    summary = {
        "core_ms": rounded.pop("core_ms"),
        "baseline_ms": rounded.pop("baseline_ms"),
        "ratio": rounded.pop("ratio"),
        "page_ms": rounded.pop("page_ms"),
        **rounded,
        "runs": args.runs,
        "scale": args.scale,
        "gc_freeze": not args.no_gc_freeze,
        "machine": machine(),
    }
    print(
        f"core {summary['core_ms']} ms (p95 {summary['core_p95_ms']}), baseline "
        f"{summary['baseline_ms']} ms, ratio {summary['ratio']}; whole answer with its queries "
        f"{summary['answer_ms']} ms; page {summary['page_ms']} ms",
        file=sys.stderr,
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
