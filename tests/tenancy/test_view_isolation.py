"""An admin of musicschool tries yogastudio's ids on every route of every tenant view.

Add a view to ``TENANT_VIEWS`` and every route below covers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

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


@dataclass(frozen=True)
class TenantView:
    endpoint: str
    model: type
    edit_data: dict
    role: MembershipRole | None = None
    # Routes the view does not offer at all answer 403 (no permission) before any lookup.
    unpermitted: tuple[str, ...] = ()

    def expected_status(self, route: str) -> set[int]:
        return {403, 404} if any(word in route for word in self.unpermitted) else {404}

    def foreign_row(self, session, yoga_id: int):
        query = select(self.model)
        if self.model is Organization:
            query = query.where(Organization.id == yoga_id)
        else:
            query = query.where(self.model.organization_id == yoga_id)
        if self.role is not None:
            query = query.where(Membership.role == self.role)
        return session.scalars(query.order_by(self.model.id)).first()


TENANT_VIEWS = [
    TenantView(
        "appointmenttypeview", AppointmentType, {"name": "Hijacked", "duration_minutes": "30"}
    ),
    TenantView("locationview", Location, {"name": "Hijacked"}),
    TenantView(
        "instructorqualificationview", InstructorQualification, {"price_override_cents": "1"}
    ),
    TenantView("instructorview", Membership, {"active": ""}, MembershipRole.INSTRUCTOR),
    TenantView("studentview", Membership, {"active": ""}, MembershipRole.STUDENT),
    TenantView(
        "schoolsettingsview",
        Organization,
        {"name": "Hijacked", "time_zone": "UTC"},
        unpermitted=("delete",),
    ),
    TenantView(
        "bookingview", Booking, {"meeting_link": "https://evil.example"}, unpermitted=("delete",)
    ),
    TenantView(
        "bookingchangeview", BookingChange, {"details": "Hijacked"}, unpermitted=("edit", "delete")
    ),
    TenantView(
        "workinghoursview",
        WorkingHours,
        {"weekday": "0", "start_time": "01:00", "end_time": "02:00"},
    ),
    TenantView("hoursoverrideview", HoursOverride, {"start_time": "01:00", "end_time": "02:00"}),
    TenantView("timeoffview", TimeOff, {"reason": "Hijacked"}),
    TenantView("schoolclosureview", SchoolClosure, {"name": "Hijacked"}),
]


def snapshot(session, row) -> dict:
    session.expire_all()
    return session.get(type(row), row.id).to_json()


@pytest.fixture
def music_admin(visit):
    return visit("musicschool", MUSIC_ADMIN)


@pytest.mark.parametrize("view", TENANT_VIEWS, ids=lambda v: v.endpoint)
@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("get", "show/{id}"),
        ("get", "edit/{id}"),
        ("post", "edit/{id}"),
        ("get", "delete/{id}"),
        ("post", "delete/{id}"),
        ("get", "action/muldelete/{id}"),
        ("post", "action/muldelete/{id}"),
    ],
)
def test_foreign_primary_key_is_404_and_row_unchanged(
    view, method, route, music_admin, owner_db, org_ids
):
    row = view.foreign_row(owner_db, org_ids["yogastudio"])
    before = snapshot(owner_db, row)

    response = getattr(music_admin, method)(
        f"/{view.endpoint}/{route.format(id=row.id)}", data=view.edit_data
    )

    # Deletes and actions are POST only: a GET is refused before any lookup.
    changes_by_get = method == "get" and route.startswith(("delete", "action"))
    expected = {405} if changes_by_get else view.expected_status(route)
    assert response.status_code in expected, (
        f"{method.upper()} {route}: expected {expected}, got {response.status_code}"
    )
    assert snapshot(owner_db, row) == before


@pytest.mark.parametrize("view", TENANT_VIEWS, ids=lambda v: v.endpoint)
def test_bulk_action_with_foreign_ids_is_404(view, music_admin, owner_db, org_ids):
    row = view.foreign_row(owner_db, org_ids["yogastudio"])
    before = snapshot(owner_db, row)

    response = music_admin.post(
        f"/{view.endpoint}/action_post", data={"action": "muldelete", "rowid": [str(row.id)]}
    )

    assert response.status_code in view.expected_status("delete")
    assert snapshot(owner_db, row) == before


@pytest.mark.parametrize("view", TENANT_VIEWS, ids=lambda v: v.endpoint)
def test_list_search_and_export_show_only_own_school(view, music_admin, owner_db, org_ids):
    row = view.foreign_row(owner_db, org_ids["yogastudio"])
    own = view.foreign_row(owner_db, org_ids["musicschool"])

    listing = music_admin.get(f"/{view.endpoint}/list/")
    search = music_admin.get(f"/{view.endpoint}/list/?_flt_0_id={row.id}")

    assert listing.status_code == 200
    assert f"/show/{own.id}".encode() in listing.data, "own rows should be listed"
    assert f'/show/{row.id}"'.encode() not in listing.data
    assert f'/show/{row.id}"'.encode() not in search.data


@pytest.mark.parametrize("view", TENANT_VIEWS, ids=lambda v: v.endpoint)
def test_other_school_admin_cannot_reach_views_without_membership(view, visit):
    yoga_admin_on_music = visit("musicschool")
    yoga_admin_on_music.login("florence@yogastudio.demo")

    response = yoga_admin_on_music.get(f"/{view.endpoint}/list/")

    assert response.status_code == 403


def _type_form(**overrides) -> dict:
    form = {
        "name": "Cello lesson",
        "duration_minutes": "30",
        "price": "30.00",
        "currency": "USD",
        "capacity": "1",
        "location_modes": ["in_person"],
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "0",
        "slot_step_minutes": "15",
        "min_notice_hours": "12",
        "max_advance_days": "60",
        "cancellation_cutoff_hours": "24",
        "color": "#112233",
        "active": "y",
    }
    form.update(overrides)
    return form


def test_add_with_another_schools_location_is_a_form_error(music_admin, owner_db, org_ids):
    camden = owner_db.scalar(
        select(Location).where(Location.organization_id == org_ids["yogastudio"])
    )

    response = music_admin.post(
        "/appointmenttypeview/add", data=_type_form(name="Smuggled", locations=[str(camden.id)])
    )

    assert response.status_code == 422
    assert b"Not a valid choice" in response.data
    assert (
        owner_db.scalar(select(AppointmentType).where(AppointmentType.name == "Smuggled")) is None
    )


def test_add_qualification_with_foreign_instructor_or_type_is_refused(
    music_admin, owner_db, org_ids
):
    yoga_type = owner_db.scalar(
        select(AppointmentType).where(AppointmentType.organization_id == org_ids["yogastudio"])
    )
    yoga_instructor = owner_db.scalar(
        select(Membership).where(
            Membership.organization_id == org_ids["yogastudio"],
            Membership.role == MembershipRole.INSTRUCTOR,
        )
    )
    music_type = owner_db.scalar(
        select(AppointmentType).where(AppointmentType.organization_id == org_ids["musicschool"])
    )
    count_before = owner_db.query(InstructorQualification).count()

    for instructor_id, type_id in [
        (yoga_instructor.id, music_type.id),
        (yoga_instructor.id, yoga_type.id),
    ]:
        response = music_admin.post(
            "/instructorqualificationview/add",
            data={"instructor": str(instructor_id), "appointment_type": str(type_id)},
        )
        assert response.status_code == 422
        assert b"Choose an instructor." in response.data, (
            "the foreign instructor is no valid choice"
        )

    owner_db.expire_all()
    assert owner_db.query(InstructorQualification).count() == count_before


def test_dropdowns_offer_only_own_school_rows(music_admin, owner_db, org_ids):
    camden = owner_db.scalar(
        select(Location).where(Location.organization_id == org_ids["yogastudio"])
    )
    page = music_admin.get("/appointmenttypeview/add").data.decode()
    qualification_page = music_admin.get("/instructorqualificationview/add").data.decode()

    assert "Main Street Studio" in page and f'value="{camden.id}"' not in page
    assert "Clara Schumann" in qualification_page
    assert "Iris Murdoch" not in qualification_page and "Drop-in yoga" not in qualification_page
    assert "Ada Lovelace" not in qualification_page, "students are not instructors"


def test_settings_view_cannot_delete_the_school(music_admin, owner_db, org_ids):
    response = music_admin.get(f"/schoolsettingsview/delete/{org_ids['musicschool']}")

    assert response.status_code in (302, 403, 404, 405)
    owner_db.expire_all()
    assert owner_db.get(Organization, org_ids["musicschool"]) is not None
