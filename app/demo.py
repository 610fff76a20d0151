"""Demo schools for ``make run``: a music school in New York and a yoga studio in London.

Idempotent: rows are found by their natural keys (subdomain, email, names) and created only
when missing, so loading twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AppointmentType,
    InstructorQualification,
    Location,
    Membership,
    MembershipRole,
    Organization,
)
from app.people import add_person, find_person, hash_password
from app.tenancy import tenant

DEMO_PASSWORD = "coursecove-demo"
PLATFORM_ADMIN_EMAIL = "platform@coursecove.demo"


@dataclass
class DemoSchool:
    subdomain: str
    name: str
    time_zone: str
    admin: tuple[str, str]
    instructors: list[tuple[str, str]]
    students: list[tuple[str, str]]
    locations: list[dict]
    appointment_types: list[dict]
    # instructor index -> appointment type names
    qualifications: dict[int, list[str]] = field(default_factory=dict)


MUSIC_SCHOOL = DemoSchool(
    subdomain="musicschool",
    name="Riverside Music School",
    time_zone="America/New_York",
    admin=("Grace", "Hopper"),
    instructors=[("Clara", "Schumann"), ("Scott", "Joplin"), ("Nadia", "Boulanger")],
    students=[
        ("Ada", "Lovelace"),
        ("Alan", "Turing"),
        ("Katherine", "Johnson"),
        ("Dorothy", "Vaughan"),
        ("Tim", "Berners-Lee"),
    ],
    locations=[
        {"name": "Main Street Studio", "address": "12 Main Street, Brooklyn, NY 11201"},
        {"name": "Riverside Hall", "address": "400 Riverside Drive, New York, NY 10025"},
    ],
    appointment_types=[
        {
            "name": "Piano lesson (30 min)",
            "duration_minutes": 30,
            "price_cents": 4000,
            "location_modes": ["in_person", "online"],
            "buffer_after_minutes": 5,
            "color": "#2563eb",
        },
        {
            "name": "Piano lesson (45 min)",
            "duration_minutes": 45,
            "price_cents": 5500,
            "location_modes": ["in_person", "online"],
            "buffer_after_minutes": 5,
            "color": "#1d4ed8",
        },
        {
            "name": "Piano lesson (60 min)",
            "duration_minutes": 60,
            "price_cents": 7000,
            "location_modes": ["in_person"],
            "buffer_after_minutes": 10,
            "color": "#1e40af",
        },
        {
            "name": "Music theory (online)",
            "duration_minutes": 60,
            "price_cents": 3500,
            "location_modes": ["online"],
            "color": "#7c3aed",
        },
    ],
    qualifications={
        0: ["Piano lesson (30 min)", "Piano lesson (45 min)", "Piano lesson (60 min)"],
        1: ["Piano lesson (30 min)", "Piano lesson (45 min)"],
        2: ["Music theory (online)", "Piano lesson (60 min)"],
    },
)

YOGA_STUDIO = DemoSchool(
    subdomain="yogastudio",
    name="Lotus Yoga Studio",
    time_zone="Europe/London",
    admin=("Florence", "Nightingale"),
    instructors=[("Iris", "Murdoch"), ("Rosalind", "Franklin"), ("Isambard", "Brunel")],
    students=[
        ("Jane", "Austen"),
        ("Charles", "Darwin"),
        ("Mary", "Shelley"),
        ("Michael", "Faraday"),
        ("Virginia", "Woolf"),
    ],
    locations=[{"name": "Camden Studio", "address": "8 Parkway, London NW1 7AA"}],
    appointment_types=[
        {
            "name": "Drop-in yoga class",
            "duration_minutes": 60,
            "price_cents": 1500,
            "currency": "GBP",
            "capacity": 12,
            "location_modes": ["in_person"],
            "color": "#059669",
            "min_notice_hours": 1,
        },
        {
            "name": "Private session at home",
            "duration_minutes": 75,
            "price_cents": 8000,
            "currency": "GBP",
            "location_modes": ["at_home"],
            "buffer_before_minutes": 30,
            "buffer_after_minutes": 30,
            "color": "#d97706",
        },
        {
            "name": "Online flow (private)",
            "duration_minutes": 45,
            "price_cents": 4000,
            "currency": "GBP",
            "location_modes": ["online"],
            "color": "#0891b2",
        },
    ],
    qualifications={
        0: ["Drop-in yoga class", "Private session at home"],
        1: ["Drop-in yoga class", "Online flow (private)"],
        2: ["Private session at home", "Online flow (private)"],
    },
)

DEMO_SCHOOLS = [MUSIC_SCHOOL, YOGA_STUDIO]


def demo_email(school: DemoSchool, first_name: str) -> str:
    return f"{first_name.lower()}@{school.subdomain}.demo"


def _user(email: str, first_name: str, last_name: str, roles: list | None = None) -> User:
    return find_person(email) or add_person(
        email, first_name, last_name, password_hash=_demo_password_hash(), roles=roles
    )


@cache
def _demo_password_hash() -> str:
    # One scrypt hash for every demo account (~0.13 s each, 19 of them at every `make run`):
    # the password is published, so a shared salt hides nothing.
    return hash_password(DEMO_PASSWORD)


def _get_or_create(model, lookup: dict, defaults: dict | None = None):
    row = db.session.scalar(select(model).filter_by(**lookup))
    if row is None:
        row = model(**{**(defaults or {}), **lookup})
        db.session.add(row)
        db.session.flush()
    return row


def _load_school(school: DemoSchool) -> Organization:
    organization = _get_or_create(
        Organization,
        {"subdomain": school.subdomain},
        {
            "name": school.name,
            "time_zone": school.time_zone,
            "contact_email": f"office@{school.subdomain}.demo",
        },
    )
    db.session.commit()
    with tenant(organization.id):
        org = {"organization_id": organization.id}

        def member(person: tuple[str, str], role: MembershipRole) -> Membership:
            user = _user(demo_email(school, person[0]), *person)
            return _get_or_create(Membership, {**org, "user_id": user.id}, {"role": role})

        member(school.admin, MembershipRole.ADMIN)
        instructors = [member(p, MembershipRole.INSTRUCTOR) for p in school.instructors]
        students = [member(person, MembershipRole.STUDENT) for person in school.students]
        locations = [
            _get_or_create(Location, {**org, "name": spec["name"]}, spec)
            for spec in school.locations
        ]
        types = {}
        for spec in school.appointment_types:
            appointment_type = _get_or_create(AppointmentType, {**org, "name": spec["name"]}, spec)
            if "in_person" in appointment_type.location_modes and not appointment_type.locations:
                appointment_type.locations = list(locations)
            types[spec["name"]] = appointment_type
        db.session.flush()
        for index, type_names in school.qualifications.items():
            for type_name in type_names:
                _get_or_create(
                    InstructorQualification,
                    {
                        **org,
                        "instructor_id": instructors[index].id,
                        "appointment_type_id": types[type_name].id,
                    },
                )
        db.session.commit()
        from app.booking.demo import load_demo_schedule

        load_demo_schedule(organization, instructors, students, types, locations)
    return organization


def load_demo() -> str:
    """Load every demo school and the platform admin; returns a summary of the log-ins."""
    security = current_app.appbuilder.sm
    security.ensure_roles()
    platform_role = security.find_role(security.auth_role_admin)
    _user(PLATFORM_ADMIN_EMAIL, "Pat", "Platform", roles=[platform_role])
    db.session.commit()
    for school in DEMO_SCHOOLS:
        _load_school(school)
    return demo_logins()


def demo_logins() -> str:
    lines = [f"All demo passwords: {DEMO_PASSWORD}", f"Platform admin: {PLATFORM_ADMIN_EMAIL}"]
    for school in DEMO_SCHOOLS:
        lines.append(
            f"{school.name} ({school.subdomain}): admin {demo_email(school, school.admin[0])}, "
            f"instructor {demo_email(school, school.instructors[0][0])}, "
            f"student {demo_email(school, school.students[0][0])}"
        )
    return "\n".join(lines)
