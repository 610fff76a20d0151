"""School admins set up appointment types, locations, qualifications and people."""

from __future__ import annotations

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.models import (
    AppointmentType,
    InstructorQualification,
    Location,
    Membership,
    MembershipRole,
)
from tests.accounts.links import (
    choose_password,
    link_in,
    only_mail_to,
)

MUSIC_ADMIN = "grace@musicschool.demo"


@pytest.fixture
def admin(visit):
    return visit("musicschool", MUSIC_ADMIN)


def type_form(**overrides) -> dict:
    form = {
        "name": "Violin lesson",
        "duration_minutes": "45",
        "price": "50.00",
        "currency": "USD",
        "capacity": "1",
        "location_modes": ["in_person", "online"],
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "5",
        "slot_step_minutes": "15",
        "min_notice_hours": "12",
        "max_advance_days": "60",
        "cancellation_cutoff_hours": "24",
        "color": "#aa3300",
        "active": "y",
    }
    form.update(overrides)
    return form


def count(session, model, **where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_admin_adds_an_appointment_type_offered_at_a_location(admin, owner_db, org_ids):
    main_street = owner_db.scalar(select(Location).where(Location.name == "Main Street Studio"))

    response = admin.post(
        "/appointmenttypeview/add",
        data=type_form(name="Violin lesson", locations=[str(main_street.id)]),
    )

    assert response.status_code == 302, response.data[-500:]
    created = owner_db.scalar(
        select(AppointmentType).where(AppointmentType.name == "Violin lesson")
    )
    assert created.organization_id == org_ids["musicschool"]
    assert created.location_modes == ["in_person", "online"]
    assert [location.name for location in created.locations] == ["Main Street Studio"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration_minutes", "0", "A lesson lasts 5 to 480 minutes."),
        ("duration_minutes", "481", "A lesson lasts 5 to 480 minutes."),
        ("capacity", "0", "Capacity must be between 1 and 500."),
        ("price", "-1", "The price cannot be negative."),
        ("price", "fifty", "Give an amount like 55.00."),
        ("price", "50.001", "at most two decimals"),
        ("location_modes", [], "Choose at least one location mode."),
        ("location_modes", ["teleport"], "is not a valid choice"),
        ("name", "Piano lesson (30 min)", "This school already has one named"),
        ("currency", "dollars", "Choose a currency from the list"),
        ("color", "blue", "Use a colour like"),
    ],
)
def test_invalid_appointment_type_is_refused_with_the_fields_message(
    admin, owner_db, field, value, message
):
    before = count(owner_db, AppointmentType)

    response = admin.post(
        "/appointmenttypeview/add", data=type_form(**{"name": "Refused type", field: value})
    )

    assert response.status_code == 422
    assert message in response.data.decode(), f"expected “{message}” for {field}={value!r}"
    assert count(owner_db, AppointmentType) == before


def test_locations_require_in_person_mode(admin, owner_db):
    main_street = owner_db.scalar(select(Location).where(Location.name == "Main Street Studio"))

    response = admin.post(
        "/appointmenttypeview/add",
        data=type_form(
            name="Online only", location_modes=["online"], locations=[str(main_street.id)]
        ),
    )

    page = response.data.decode()
    assert response.status_code == 422, "a refused form comes back, not a redirect"
    assert "Locations only apply to in-person lessons" in page
    assert 'value="Online only"' in page, "what was typed is still there"
    assert count(owner_db, AppointmentType, name="Online only") == 0


def test_a_name_used_by_another_school_is_fine_here(admin, owner_db):
    response = admin.post("/locationview/add", data={"name": "Camden Studio", "active": "y"})

    assert response.status_code == 302
    assert count(owner_db, Location, name="Camden Studio") == 2


def test_editing_keeps_its_own_name_but_refuses_a_duplicate(admin, owner_db):
    riverside = owner_db.scalar(select(Location).where(Location.name == "Riverside Hall"))

    same = admin.post(
        f"/locationview/edit/{riverside.id}", data={"name": "Riverside Hall", "active": "y"}
    )
    clash = admin.post(
        f"/locationview/edit/{riverside.id}", data={"name": "Main Street Studio", "active": "y"}
    )

    assert same.status_code == 302
    assert "This school already has one named" in clash.data.decode()


def test_qualification_pairs_are_unique(admin, owner_db):
    existing = owner_db.scalar(
        select(InstructorQualification).where(
            InstructorQualification.organization_id
            == owner_db.scalar(
                select(Location.organization_id).where(Location.name == "Main Street Studio")
            )
        )
    )
    before = count(owner_db, InstructorQualification)

    response = admin.post(
        "/instructorqualificationview/add",
        data={
            "instructor": str(existing.instructor_id),
            "appointment_type": str(existing.appointment_type_id),
        },
    )

    assert response.status_code == 422
    assert "is already qualified for" in response.data.decode()
    assert count(owner_db, InstructorQualification) == before


def test_admin_adds_an_instructor_who_can_then_sign_in(
    admin, visit, owner_db, org_ids, people, mailbox
):
    people.remember("yoyo@example.com")
    response = admin.post(
        "/instructorview/add",
        data={
            "first_name": "Yo-Yo",
            "last_name": "Ma",
            "person_email": "YoYo@Example.com",
            "active": "y",
        },
    )

    assert response.status_code == 302
    membership = owner_db.scalar(
        select(Membership).join(User).where(User.email == "yoyo@example.com")
    )
    assert (membership.organization_id, membership.role) == (
        org_ids["musicschool"],
        MembershipRole.INSTRUCTOR,
    )
    new_instructor = visit("musicschool")
    link = link_in(only_mail_to(mailbox, "yoyo@example.com"))
    assert choose_password(new_instructor, link, "cello-suite-1").status_code == 302
    assert new_instructor.get("/teaching/").status_code == 200


def test_adding_an_existing_member_again_changes_nothing(admin, owner_db):
    users_before, members_before = count(owner_db, User), count(owner_db, Membership)

    response = admin.post(
        "/studentview/add",
        data={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "person_email": "ada@musicschool.demo",
            "active": "y",
        },
    )

    assert response.status_code == 422
    assert "is already a member of this school" in response.data.decode()
    assert 'value="ada@musicschool.demo"' in response.data.decode()
    assert (count(owner_db, User), count(owner_db, Membership)) == (users_before, members_before)


def test_invalid_person_is_refused_and_nothing_is_written(admin, owner_db):
    users_before = count(owner_db, User)

    response = admin.post(
        "/studentview/add",
        data={"first_name": "", "last_name": "X", "person_email": "not-an-email", "active": "y"},
    )

    assert response.status_code == 422
    assert "Invalid email address" in response.data.decode()
    assert count(owner_db, User) == users_before


def test_instructor_and_student_lists_are_separate(admin):
    instructors = admin.get("/instructorview/list/").data.decode()
    students = admin.get("/studentview/list/").data.decode()

    assert "Clara Schumann" in instructors and "Ada Lovelace" not in instructors
    assert "Ada Lovelace" in students and "Clara Schumann" not in students


def test_school_settings_refuse_an_unknown_time_zone(admin, owner_db, org_ids):
    response = admin.post(
        f"/schoolsettingsview/edit/{org_ids['musicschool']}",
        data={"name": "Riverside Music School", "time_zone": "Mars/Olympus"},
    )

    assert "Choose a time zone such as" in response.data.decode()
