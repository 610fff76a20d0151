"""Fixtures for booking tests: a real SMTP server (aiosmtpd), a real threaded HTTP server,
the demo school's people and types by name, free slots found by the real core, and clean-up
of every booking row a test wrote."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from werkzeug.security import generate_password_hash

from app import clock
from app.extensions import db
from app.models import (
    AppointmentType,
    Location,
    Membership,
    MembershipRole,
    Organization,
    SchoolLogo,
    User,
)
from app.scheduling.time_format import format_moment, format_time
from app.tenancy import privileged, tenant

# Rows tests may create, children first (deleted in this order afterwards).
BOOKING_TABLES = [
    "booking_reminders",
    "notifications",
    "booking_changes",
    "booking_attendees",
    "bookings",
    "booking_series",
    "working_hours",
    "hours_overrides",
    "time_off",
    "school_closures",
]


# --- clean-up ---------------------------------------------------------------------------------


class RowsWritten:
    """Remembers the highest id of each booking table, and deletes anything newer (one
    statement each way: this runs around every booking test)."""

    def __init__(self, app: Flask):
        self.app = app
        highest = ", ".join(f"(SELECT coalesce(max(id), 0) FROM {t})" for t in BOOKING_TABLES)
        with app.app_context(), privileged():
            row = db.session.execute(sa.text(f"SELECT {highest}")).one()
            db.session.remove()
        self.before = dict(zip(BOOKING_TABLES, row, strict=True))

    def remove(self) -> None:
        # Ids are integers read above: no parameters, so one round trip for every table.
        deletes = "; ".join(
            f"DELETE FROM {t} WHERE id > {int(self.before[t])}" for t in BOOKING_TABLES
        )
        with self.app.app_context(), privileged():
            db.session.connection().exec_driver_sql(deletes)
            db.session.commit()
            db.session.remove()


@pytest.fixture(autouse=True)
def rows_written(app: Flask) -> Iterator[RowsWritten]:
    """Every booking test leaves the demo data as it found it."""
    rows = RowsWritten(app)
    yield rows
    rows.remove()


# --- the demo school by name --------------------------------------------------------------------


@dataclass
class School:
    subdomain: str
    id: int
    time_zone: str
    time_format: str = "24h"  # how the school writes times: "12h" (New York) or "24h"
    types: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)  # first name -> membership id
    locations: dict[str, int] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def clock(self, value: datetime | time_of_day) -> str:
        """A time as the school's pages write it: "3:00 PM" (12h) or "15:00" (24h)."""
        if isinstance(value, datetime):
            value = self.local(value)
        return format_time(value, self.time_format)

    def when(self, moment: datetime, day: str = "%d %b %Y") -> str:
        """``day`` and the time as the school writes them: "07 Dec 2026, 3:00 PM"."""
        return format_moment(moment, self.time_zone, self.time_format, day, zone_name=False)


def _school(subdomain: str) -> School:
    organization = db.session.scalar(
        sa.select(Organization).where(Organization.subdomain == subdomain)
    )
    school = School(subdomain, organization.id, organization.time_zone, organization.time_format)
    school.types = dict(
        db.session.execute(
            sa.select(AppointmentType.name, AppointmentType.id).where(
                AppointmentType.organization_id == organization.id
            )
        ).all()
    )
    school.people = dict(
        db.session.execute(
            sa.select(User.first_name, Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization.id)
        ).all()
    )
    school.locations = dict(
        db.session.execute(
            sa.select(Location.name, Location.id).where(Location.organization_id == organization.id)
        ).all()
    )
    return school


@pytest.fixture(scope="session")
def schools(app: Flask) -> dict[str, School]:
    with app.app_context(), privileged():
        found = {s: _school(s) for s in ("musicschool", "yogastudio")}
        db.session.remove()
    return found


@pytest.fixture
def music(schools) -> School:
    return schools["musicschool"]


@pytest.fixture
def yoga(schools) -> School:
    return schools["yogastudio"]


@contextmanager
def in_school(app: Flask, school: School) -> Iterator[None]:
    """App context bound to one school, as the app role (RLS applies), like a request."""
    with app.app_context(), tenant(school.id):
        try:
            yield
        finally:
            db.session.rollback()
            db.session.remove()


@pytest.fixture
def free_slots(app: Flask):
    """``free_slots(school, type, days_ahead=…, instructor=…, mode=…, location=…)`` → the
    real core's free slots from that local day for a week (what the page would offer)."""
    from app.booking import service

    def find(
        school: School,
        type_name: str,
        *,
        days_ahead: int = 1,
        days: int = 7,
        instructor: str | None = None,
        mode: str | None = None,
        location: str | None = None,
    ):
        with in_school(app, school):
            appointment_type = db.session.get(AppointmentType, school.types[type_name])
            first = clock.now().astimezone(school.zone).date() + timedelta(days=days_ahead)
            return service.free_slots(
                appointment_type,
                first,
                first + timedelta(days=days),
                instructor_id=school.people[instructor] if instructor else None,
                location_mode=mode,
                location_id=school.locations[location] if location else None,
            )

    return find


@pytest.fixture
def weekly_free_slot(free_slots):
    """``weekly_free_slot(school, type, weeks, …)`` → a free slot whose next ``weeks`` weekly
    repeats (same local time) are all free too, and their starts: whatever the date, a series
    test then never lands on a closure, a holiday or a demo lesson it did not put there."""
    from app.scheduling import weekly_occurrences

    def find(school: School, type_name: str, weeks: int, *, days_ahead: int = 26, **filters):
        offered = free_slots(
            school, type_name, days_ahead=days_ahead, days=7 * (weeks + 4), **filters
        )
        free = {slot.start for slot in offered}
        for slot in offered:
            starts = weekly_occurrences(slot.start, school.time_zone, count=weeks)
            if all(start in free for start in starts):
                return slot, starts
        raise AssertionError(f"no {weeks}-week run of free {type_name} times found")

    return find


def confirm_url(
    school: School, type_name: str, slot, *, instructor: int | None = None, mode: str | None = None
) -> str:
    from urllib.parse import urlencode

    query = {"start": slot.start.isoformat(), "mode": mode or slot.location_mode.value}
    if slot.location_id is not None:
        query["location"] = slot.location_id
    chosen = instructor if instructor is not None else slot.instructor_ids[0]
    if chosen:
        query["instructor"] = chosen
    return f"/book/{school.types[type_name]}/confirm?{urlencode(query)}"


@pytest.fixture
def owner(owner_db):
    """The table owner's own session, for arranging and checking rows."""
    return owner_db


def next_weekday(weekday: int, zone: ZoneInfo, at_least_days: int = 2) -> date:
    day = clock.now().astimezone(zone).date() + timedelta(days=at_least_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


# --- a real HTTP server (tests/conftest.py: live_server) ------------------------------------------


def school_host(app: Flask, school: School) -> str:
    return f"{school.subdomain}.{app.config['APP_DOMAIN']}"


def http_login(live, host: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    session.headers["Host"] = host
    response = session.post(
        live.url("/login/"),
        data={"username": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, f"login as {email}: {response.status_code}"
    return session


QUICK_PASSWORD = "quick-test-password"


@pytest.fixture
def make_students(app: Flask, rows_written: RowsWritten):
    """``make_students(school, n)`` → emails of n new students (cheap password hashes, so 50
    log-ins take milliseconds, not seconds)."""
    created: list[int] = []

    def make(school: School, count: int, prefix: str = "racer") -> list[str]:
        emails = []
        password = generate_password_hash(QUICK_PASSWORD, method="pbkdf2:sha256:1000")
        with app.app_context(), privileged():
            stamp = time.time_ns()
            for n in range(count):
                email = f"{prefix}{n}-{stamp}@{school.subdomain}.test"
                user = User(
                    username=email,
                    email=email,
                    first_name=f"Racer{n}",
                    last_name="Test",
                    active=True,
                    password=password,
                )
                db.session.add(user)
                db.session.flush()
                db.session.add(
                    Membership(
                        organization_id=school.id, user_id=user.id, role=MembershipRole.STUDENT
                    )
                )
                created.append(user.id)
                emails.append(email)
            db.session.commit()
            db.session.remove()
        return emails

    yield make
    rows_written.remove()  # their bookings first, then the people
    with app.app_context(), privileged():
        if created:
            db.session.execute(sa.delete(Membership).where(Membership.user_id.in_(created)))
            db.session.execute(sa.delete(User).where(User.id.in_(created)))
            db.session.commit()
        db.session.remove()


# --- a group class ------------------------------------------------------------------------------


ENSEMBLE = "Ensemble class"


@pytest.fixture
def ensemble(app: Flask, music: School, rows_written: RowsWritten) -> Iterator[str]:
    """A music-school group class for three, taught by Clara online or at Main Street."""
    from app.models import InstructorQualification, appointment_type_locations

    with app.app_context(), privileged():
        group = AppointmentType(
            organization_id=music.id,
            name=ENSEMBLE,
            duration_minutes=60,
            price_cents=2000,
            currency="USD",
            capacity=3,
            location_modes=["online"],
            min_notice_hours=1,
            max_advance_days=60,
            cancellation_cutoff_hours=24,
            slot_step_minutes=60,
            buffer_before_minutes=0,
            buffer_after_minutes=0,
            color="#123456",
        )
        db.session.add(group)
        db.session.flush()
        db.session.add(
            InstructorQualification(
                organization_id=music.id,
                instructor_id=music.people["Clara"],
                appointment_type_id=group.id,
            )
        )
        db.session.commit()
        music.types[ENSEMBLE] = group.id
        db.session.remove()
    yield ENSEMBLE
    rows_written.remove()
    with app.app_context(), privileged():
        db.session.execute(
            sa.delete(InstructorQualification).where(
                InstructorQualification.appointment_type_id == music.types[ENSEMBLE]
            )
        )
        db.session.execute(
            sa.delete(appointment_type_locations).where(
                appointment_type_locations.c.appointment_type_id == music.types[ENSEMBLE]
            )
        )
        db.session.execute(
            sa.delete(AppointmentType).where(AppointmentType.id == music.types.pop(ENSEMBLE))
        )
        db.session.commit()
        db.session.remove()


@pytest.fixture
def restore_music(owner_db, org_ids, music):
    """The music school's settings and logo as the demo has them, after the test."""
    yield
    owner_db.rollback()
    owner_db.execute(
        sa.update(Organization)
        .where(Organization.id == org_ids["musicschool"])
        .values(time_format="12h", brand_colour=None, name="Riverside Music School")
    )
    owner_db.execute(sa.delete(SchoolLogo))
    owner_db.commit()
    music.time_format = "12h"
