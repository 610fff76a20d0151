"""Every school admin panel reads as sentences: the school's words for titles and messages,
values as people write them (no None, True, lists, reprs or UTC timestamps)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.models import (
    AppointmentType,
    Booking,
    BookingChange,
    HoursOverride,
    InstructorQualification,
    Location,
    Membership,
    MembershipRole,
    Organization,
    SchoolClosure,
    TimeOff,
    WorkingHours,
)

MUSIC_ADMIN = "grace@musicschool.demo"

# endpoint, model, the row's noun, the list's title
PANELS = [
    ("appointmenttypeview", AppointmentType, "Appointment type", "Appointment types"),
    ("locationview", Location, "Location", "Locations"),
    ("instructorqualificationview", InstructorQualification, "Qualification", None),
    ("instructorview", Membership, "Instructor", "Instructors"),
    ("studentview", Membership, "Student", "Students"),
    ("schoolsettingsview", Organization, "School settings", "School settings"),
    ("workinghoursview", WorkingHours, "Working hours", "Working hours"),
    ("hoursoverrideview", HoursOverride, "Date override", None),
    ("timeoffview", TimeOff, "Time off", "Time off"),
    ("schoolclosureview", SchoolClosure, "School closure", "School closures"),
    ("bookingview", Booking, "Booking", "Bookings"),
    ("bookingchangeview", BookingChange, "Booking change", "Booking history"),
]

# What a developer's panel shows and a school admin should never read.
LEAKS = [
    (re.compile(r"\bNone\b"), "None"),
    (re.compile(r"\b(True|False)\b"), "a Python boolean"),
    (re.compile(r"__None"), "FAB's blank choice"),
    (re.compile(r"object at 0x"), "an object repr"),
    (re.compile(r"\['"), "a Python list"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"), "a raw timestamp"),
    (
        re.compile(
            r"\b(List|Show|Add|Edit) ("
            + "|".join(re.sub(r"(?<!^)(?=[A-Z])", " ", p[1].__name__) for p in PANELS)
            + ")"
        ),
        "FAB's generic title",
    ),
    (re.compile(r"(Added|Changed|Deleted) Row"), "FAB's generic message"),
]
# Times are the school's (New York): a UTC time on a list or detail page is a leak. (Forms
# may offer "UTC" as a time zone.)
UTC_TIME = re.compile(r"\d{1,2}:\d{2} UTC\b")


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html.replace("&nbsp;", " "))


def leaks(text: str, page: str) -> list[str]:
    found = []
    checks = [*LEAKS, (UTC_TIME, "a UTC time")] if page in ("list", "show") else LEAKS
    for pattern, what in checks:
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 60) : match.end() + 60]
            found.append(f"{what}: …{context}…")
    return found


@pytest.fixture(scope="module")
def admin(app):
    from tests.conftest import Visitor

    return Visitor(app, "musicschool").login(MUSIC_ADMIN)


def newest_row(owner_db, model, org_id: int, endpoint: str) -> int:
    scope = model.id if model is Organization else model.organization_id
    query = sa.select(model.id).where(scope == org_id).order_by(model.id.desc()).limit(1)
    if endpoint in ("instructorview", "studentview"):
        role = MembershipRole.INSTRUCTOR if endpoint == "instructorview" else MembershipRole.STUDENT
        query = query.where(Membership.role == role)
    return owner_db.scalar(query)


@pytest.mark.parametrize(("endpoint", "model", "noun", "title"), PANELS, ids=[p[0] for p in PANELS])
def test_every_panel_page_reads_as_sentences(
    admin, owner_db, org_ids, endpoint, model, noun, title
):
    pk = newest_row(owner_db, model, org_ids["musicschool"], endpoint)
    pages = {
        "list": admin.get(f"/{endpoint}/list/"),
        "show": admin.get(f"/{endpoint}/show/{pk}"),
        "add": admin.get(f"/{endpoint}/add"),
        "edit": admin.get(f"/{endpoint}/edit/{pk}"),
    }

    readable = {name: r for name, r in pages.items() if r.status_code == 200}
    assert {"list", "show"} <= set(readable), {n: r.status_code for n, r in pages.items()}
    problems = [
        f"{name}: {problem}"
        for name, response in readable.items()
        for problem in leaks(visible_text(response.data.decode()), name)
    ]
    assert not problems, "\n".join(problems)
    if title:
        assert title in visible_text(pages["list"].data.decode())
    assert noun in visible_text(pages["show"].data.decode())


def test_appointment_type_reads_in_words_and_its_price_in_units(admin, owner_db, org_ids):
    piano = owner_db.scalar(
        sa.select(AppointmentType).where(
            AppointmentType.organization_id == org_ids["musicschool"],
            AppointmentType.name == "Piano lesson (45 min)",
        )
    )

    shown = visible_text(admin.get(f"/appointmenttypeview/show/{piano.id}").data.decode())
    form = admin.get(f"/appointmenttypeview/edit/{piano.id}").data.decode()

    assert "Location modes In person, Online" in shown
    assert "Offered at (in person) Main Street Studio" in shown
    assert f"Price {piano.price_cents / 100:.2f} USD" in shown
    assert f'value="{piano.price_cents / 100:.2f}"' in form, "the price is typed in dollars"
    assert 'type="color"' in form
    assert '<option selected value="USD">USD – US Dollar</option>' in form


def test_a_price_typed_in_units_is_stored_in_cents(admin, owner_db):
    response = admin.post(
        "/appointmenttypeview/add",
        data={
            "name": "Harp lesson",
            "duration_minutes": "45",
            "price": "55.5",
            "currency": "EUR",
            "capacity": "1",
            "location_modes": ["online"],
            "buffer_before_minutes": "0",
            "buffer_after_minutes": "0",
            "slot_step_minutes": "15",
            "min_notice_hours": "12",
            "max_advance_days": "60",
            "cancellation_cutoff_hours": "24",
            "color": "#aa3300",
        },
        follow_redirects=True,
    )

    try:
        harp = owner_db.scalar(
            sa.select(AppointmentType).where(AppointmentType.name == "Harp lesson")
        )
        assert (harp.price_cents, harp.currency, harp.active) == (5550, "EUR", False)
        assert "Appointment type added." in response.data.decode()
    finally:
        owner_db.execute(sa.delete(AppointmentType).where(AppointmentType.name == "Harp lesson"))
        owner_db.commit()


def test_school_settings_offer_time_zones_to_choose_from(admin, org_ids):
    form = admin.get(f"/schoolsettingsview/edit/{org_ids['musicschool']}").data.decode()

    assert '<option selected value="America/New_York">America/New York</option>' in form
    assert 'value="Europe/London"' in form


def test_a_persons_role_reads_as_a_word(admin, owner_db, org_ids):
    ada = owner_db.scalar(
        sa.select(Membership.id)
        .join(Membership.user)
        .where(Membership.organization_id == org_ids["musicschool"])
        .where(Membership.role == MembershipRole.STUDENT)
        .limit(1)
    )

    shown = visible_text(admin.get(f"/studentview/show/{ada}").data.decode())

    assert "Role Student" in shown


def test_the_platform_reads_its_schools_in_words(visit):
    platform = visit(None, "platform@coursecove.demo")

    listing = visible_text(platform.get("/organizationview/list/").data.decode())
    form = platform.get("/organizationview/add").data.decode()

    # (The platform has no school, so its times are UTC, which is right there.)
    assert "Schools" in listing and not leaks(listing, "platform")
    assert '<option value="Europe/London">Europe/London</option>' in form
    assert 'name="active" type="checkbox"' in form and 'required name="active"' not in form
