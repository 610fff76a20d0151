"""Lesson reminders at scale: 10,000 bookings whose reminders fall due in the same minute.

    .venv/bin/python bench/reminders.py [--bookings 10000] [--schools 50] [--timeout 180]

50 schools, each with 200 instructors teaching one private 30-minute lesson at the same
instant T to 200 students (10,000 bookings, planned by the real ``reminders.replan``); every
school reminds one hour before, so 10,000 reminders are due at T - 1 h. Then, at that minute
(``COURSECOVE_CLOCK``), two beat runs of ``notifications.queue_due_reminders`` race in two
processes while a real Celery worker (prefork, 2 processes, as ``make run``) sends what they
queue to a real SMTP server on loopback (aiosmtpd, in this process). Embedded PostgreSQL and
Redis are started and stopped (``DATABASE_URL`` / ``REDIS_URL`` use yours instead; a
database ``coursecove_bench_reminders`` is then created, dropped first).

Progress goes to stderr; the last line on stdout is one JSON object: ``sent`` (distinct
reminders received by the SMTP server), ``duplicates`` (messages received beyond one per
reminder, plus reminders queued twice), ``missed`` (reminders never received), ``seconds``
(from the beats' start to the last message received), ``per_second``, and the beats'
own split of the work.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = "bench-reminders"
DOMAIN = "bench.coursecove.test"
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<notification-(\d+)@", re.MULTILINE | re.IGNORECASE)

log = logging.getLogger("bench.reminders")


class Counting:
    """aiosmtpd handler: counts messages per notification id (from the stable Message-ID)."""

    def __init__(self) -> None:
        self.received: Counter[int] = Counter()
        self.last_at = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        found = MESSAGE_ID.search(envelope.content)
        with self.lock:
            self.received[int(found.group(1)) if found else -1] += 1
            self.last_at = time.monotonic()
        return "250 OK"

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


def beat_run() -> None:
    """One beat run in its own process (``--beat-run``): the task body, as beat would."""
    from app import create_app
    from app.notifications.tasks import queue_due_reminders

    app = create_app()
    with app.app_context():
        queued = queue_due_reminders.run()
    print(json.dumps({"queued": queued}), flush=True)


def seed(app, schools: int, per_school: int, lesson_at: datetime) -> None:
    """Schools, instructors, students, a type, and one private lesson per pair at ``lesson_at``
    (bulk inserts); then the real planning code plans their reminders."""
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import Range

    from app.extensions import db
    from app.models import (
        AppointmentType,
        Booking,
        BookingAttendee,
        Membership,
        MembershipRole,
        Organization,
        User,
    )
    from app.notifications import reminders
    from app.tenancy import privileged

    end = lesson_at + timedelta(minutes=30)
    with app.app_context(), privileged():
        for n in range(schools):
            school = Organization(
                name=f"Bench School {n}",
                subdomain=f"bench{n}",
                time_zone=["America/New_York", "Europe/London", "Asia/Tokyo"][n % 3],
                reminder_hours="1",
                contact_email=f"office@bench{n}.test",
            )
            db.session.add(school)
            db.session.flush()
            lesson = AppointmentType(
                organization_id=school.id,
                name="Lesson",
                duration_minutes=30,
                capacity=1,
                location_modes=["online"],
            )
            db.session.add(lesson)
            db.session.flush()
            people = [
                {
                    "first_name": f"{role.title()}{i}",
                    "last_name": f"School{n}",
                    "username": f"{role}{i}@bench{n}.test",
                    "email": f"{role}{i}@bench{n}.test",
                    "active": True,
                    "password": "!",
                }
                for role in ("teacher", "student")
                for i in range(per_school)
            ]
            user_ids = db.session.scalars(
                sa.insert(User).returning(User.id, sort_by_parameter_order=True), people
            ).all()
            memberships = [
                {
                    "organization_id": school.id,
                    "user_id": user_id,
                    "role": MembershipRole.INSTRUCTOR if k < per_school else MembershipRole.STUDENT,
                }
                for k, user_id in enumerate(user_ids)
            ]
            member_ids = db.session.scalars(
                sa.insert(Membership).returning(Membership.id, sort_by_parameter_order=True),
                memberships,
            ).all()
            teachers, students = member_ids[:per_school], member_ids[per_school:]
            booking_ids = db.session.scalars(
                sa.insert(Booking).returning(Booking.id, sort_by_parameter_order=True),
                [
                    {
                        "organization_id": school.id,
                        "appointment_type_id": lesson.id,
                        "instructor_id": teacher,
                        "starts_at": lesson_at,
                        "ends_at": end,
                        "occupied": Range(lesson_at, end, bounds="[)"),
                        "location_mode": "online",
                        "meeting_link": f"https://meet.example/{n}-{teacher}",
                        "capacity": 1,
                        "seats_taken": 1,
                        "status": "confirmed",
                    }
                    for teacher in teachers
                ],
            ).all()
            db.session.execute(
                sa.insert(BookingAttendee),
                [
                    {
                        "organization_id": school.id,
                        "booking_id": booking_id,
                        "student_id": student,
                        "during": Range(lesson_at, end, bounds="[)"),
                        "status": "confirmed",
                    }
                    for booking_id, student in zip(booking_ids, students, strict=True)
                ],
            )
            db.session.commit()
            reminders.replan(school.id, lesson_at - timedelta(hours=2))
            db.session.commit()
            if (n + 1) % 10 == 0:
                log.info("seeded %d schools", n + 1)
        db.session.remove()


def counts(app) -> dict:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import BookingReminder, Notification
    from app.tenancy import privileged

    with app.app_context(), privileged():
        reminders = dict(
            db.session.execute(
                sa.select(BookingReminder.status, sa.func.count()).group_by(BookingReminder.status)
            ).all()
        )
        notifications = dict(
            db.session.execute(
                sa.select(Notification.status, sa.func.count()).group_by(Notification.status)
            ).all()
        )
        per_reminder = db.session.execute(
            sa.select(sa.func.count())
            .select_from(BookingReminder)
            .where(BookingReminder.status == "queued", BookingReminder.notification_id.is_(None))
        ).scalar()
        reminder_ids = set(
            db.session.scalars(
                sa.select(BookingReminder.notification_id).where(
                    BookingReminder.notification_id.is_not(None)
                )
            )
        )
        db.session.remove()
    return {
        "reminders": reminders,
        "notifications": notifications,
        "queued_without_mail": per_reminder,
        "reminder_notification_ids": reminder_ids,
    }


def run(args: argparse.Namespace) -> dict:
    from aiosmtpd.controller import Controller

    from app.local_engines import (
        create_database,
        free_port,
        postgres_url,
        start_postgres,
        start_redis,
    )

    workdir = Path(tempfile.mkdtemp(prefix="coursecove-bench-reminders-"))
    engines, children = [], []
    smtp = Counting()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    per_school = args.bookings // args.schools
    # The lessons start at T; their reminders are due at T - 1 h; the beats run 30 s later.
    lesson_at = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    beat_at = lesson_at - timedelta(hours=1) + timedelta(seconds=30)
    try:
        database_url = os.environ.get("DATABASE_URL")
        if database_url:
            from sqlalchemy.engine import make_url

            create_database(database_url, "coursecove_bench_reminders", drop_first=True)
            database_url = (
                make_url(database_url)
                .set(drivername="postgresql+psycopg", database="coursecove_bench_reminders")
                .render_as_string(hide_password=False)
            )
        else:
            server = start_postgres(workdir / "pgdata", cleanup_mode="delete")
            engines.append(server)
            create_database(postgres_url(server, "postgres"), "coursecove_bench")
            database_url = postgres_url(server, "coursecove_bench")
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis_server, redis_url = start_redis(workdir / "redis.db")
            engines.append(redis_server)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "APP_DOMAIN": DOMAIN,
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(controller.port),
            "MAIL_TASK_QUEUE": QUEUE,
            "COURSECOVE_CLOCK": beat_at.isoformat(),
            "LOG_LEVEL": "WARNING",
        }
        env.pop("APP_DATABASE_URL", None)
        os.environ.update(env)  # before config is imported

        from app import create_app
        from app.database import prepare_database

        app = create_app()
        prepare_database(app)
        log.info("seeding %d bookings in %d schools…", per_school * args.schools, args.schools)
        seed(app, args.schools, per_school, lesson_at)
        planned = counts(app)["reminders"].get("pending", 0)
        log.info("%d reminders planned, due at %s", planned, lesson_at - timedelta(hours=1))

        def spawn(name: str, command: list[str]) -> subprocess.Popen:
            output = open(workdir / f"{name}.log", "w")  # noqa: SIM115 (lives with the child)
            child = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            children.append(child)
            return child

        spawn(
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
                "2",
                "--queues",
                QUEUE,
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                "bench-reminders@%h",
            ],
        )
        time.sleep(args.worker_start_s)  # the worker takes its place on the queue
        log.info("two beat runs racing…")
        started = time.monotonic()
        beats = [spawn(f"beat{n}", [sys.executable, __file__, "--beat-run"]) for n in range(2)]
        deadline = started + args.timeout
        while time.monotonic() < deadline and smtp.total() < planned:
            time.sleep(0.2)
        finished = smtp.last_at or time.monotonic()
        for beat in beats:
            beat.wait(30)
        time.sleep(2)  # anything still in flight would be a duplicate: give it the chance
        state = counts(app)
        beat_queued = []
        for n in range(2):
            lines = (workdir / f"beat{n}.log").read_text().strip().splitlines()
            beat_queued.append(json.loads(lines[-1])["queued"] if lines else None)
    finally:
        from app.local_engines import stop_engines, stop_process_groups

        stop_process_groups(children)
        controller.stop()
        stop_engines(engines)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    expected = state["reminder_notification_ids"]
    received = smtp.received
    sent = len(expected & set(received))
    duplicates = sum(c - 1 for c in received.values() if c > 1) + sum(
        c for i, c in received.items() if i not in expected
    )
    duplicates += max(0, sum(beat_queued or [0]) - len(expected))
    seconds = round(finished - started, 2)
    return {
        "bookings": per_school * args.schools,
        "schools": args.schools,
        "reminders_due": planned,
        "sent": sent,
        "duplicates": duplicates,
        "missed": planned - sent,
        "seconds": seconds,
        "per_second": round(sent / seconds, 1) if seconds else None,
        "beat_runs_queued": beat_queued,
        "reminder_states": state["reminders"],
        "notification_states": state["notifications"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--worker-start-s", type=float, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--beat-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.beat_run:
        beat_run()
        return 0
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    result = run(args)
    print(json.dumps(result))
    return 0 if result["missed"] == 0 and result["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
