"""The platform admin manages schools on the platform domain."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.models import Membership, MembershipRole, Organization, User
from tests.accounts.links import (
    choose_password,
    link_in,
    only_mail_to,
)

SCHOOL_VIEWS = {
    "appointmenttypeview",
    "locationview",
    "instructorqualificationview",
    "instructorview",
    "studentview",
    "administratorview",
    "schoolsettingsview",
    "bookingview",
    "workinghoursview",
    "hoursoverrideview",
    "timeoffview",
    "schoolclosureview",
    "book",
    "bookings",
    "teaching",
}


def test_platform_admin_creates_a_school_with_its_first_admin(visit, owner_db, people, mailbox):
    platform = visit(None, "platform@coursecove.demo")
    admin_email = people.new("first-admin")

    response = platform.post(
        "/organizationview/add",
        data={
            "name": "Maths Tutors",
            "subdomain": "mathstutors",
            "time_zone": "Europe/Berlin",
            "admin_email": admin_email,
            "admin_first_name": "Emmy",
            "admin_last_name": "Noether",
            "active": "y",
        },
    )
    confirmation = platform.get(response.headers["Location"]).data.decode()

    assert response.status_code == 302
    assert "Maths Tutors added. Invitation sent to " + admin_email in confirmation
    assert "Riverside Music School" not in confirmation
    assert visit("mathstutors").get("/").status_code == 200
    school_id = owner_db.scalar(
        select(Organization.id).where(Organization.subdomain == "mathstutors")
    )
    owner_db.expire_all()
    membership = owner_db.scalar(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(User.email == admin_email)
    )
    assert (membership.organization_id, membership.role) == (school_id, MembershipRole.ADMIN)

    link = link_in(only_mail_to(mailbox, admin_email))
    assert link.startswith("http://mathstutors.coursecove.test/welcome/")
    admin = visit("mathstutors")
    assert choose_password(admin, link, "emmy's own password").status_code == 302
    assert admin.get("/instructorview/list/").status_code == 200
    assert admin.get("/schoolsettingsview/list/").status_code == 200


def test_a_school_needs_a_first_admin(visit, owner_db):
    platform = visit(None, "platform@coursecove.demo")
    before = owner_db.scalar(select(func.count()).select_from(Organization))

    page = platform.post(
        "/organizationview/add",
        data={"name": "No Admin", "subdomain": "noadmin", "time_zone": "UTC", "active": "y"},
    )

    assert page.status_code == 422 and "This field is required" in page.data.decode()
    owner_db.expire_all()
    assert owner_db.scalar(select(func.count()).select_from(Organization)) == before


def test_the_platform_menu_shows_only_platform_pages(visit):
    platform = visit(None, "platform@coursecove.demo")
    page = platform.get("/organizationview/list/").data.decode()
    links = set(re.findall(r'href="(/[a-z_]+view/[a-z_]+/?)"', page)) | set(
        re.findall(r'href="(/(?:book|bookings|teaching)/?)"', page)
    )

    assert "/organizationview/list/" in links
    school_only = [link for link in links if link.split("/")[1] in SCHOOL_VIEWS]
    assert school_only == []
    for link in links:
        assert platform.get(link).status_code == 200, link


def _permission_queries(app, visitor, path: str) -> tuple[int, str]:
    """(statements that read role permissions, the page)."""
    from app.extensions import db

    counted = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "ab_permission_view_role" in statement:
            counted.append(statement)

    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = visitor.get(path)
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.status_code
    return len(counted), response.get_data(as_text=True)


def test_a_platform_page_reads_the_admins_permissions_once(app, visit):
    # FAB checks every menu item, and every check was a query of its own (18 on this page).
    platform = visit(None, "platform@coursecove.demo")

    queries, page = _permission_queries(app, platform, "/organizationview/list/")

    assert 'href="/organizationview/list/"' in page
    assert queries == 1


@pytest.fixture
def schools_menu_taken_away(owner_db):
    """Takes the Schools menu entry from PlatformAdmin when called; gives it back afterwards."""
    grant = sa.text(
        "SELECT pvr.id, pvr.permission_view_id, pvr.role_id FROM ab_permission_view_role pvr"
        " JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id"
        " JOIN ab_permission p ON p.id = pv.permission_id"
        " JOIN ab_view_menu v ON v.id = pv.view_menu_id"
        " JOIN ab_role r ON r.id = pvr.role_id"
        " WHERE p.name = 'menu_access' AND v.name = 'Schools' AND r.name = 'PlatformAdmin'"
    )
    taken = []

    def take() -> None:
        taken.extend(owner_db.execute(grant).all())
        owner_db.execute(sa.text("DELETE FROM ab_permission_view_role WHERE id = :id"),
                         [{"id": row.id} for row in taken])  # fmt: skip
        owner_db.commit()

    yield take
    owner_db.rollback()
    for row in taken:
        owner_db.execute(
            sa.text("INSERT INTO ab_permission_view_role VALUES (:id, :pv, :role)"),
            {"id": row.id, "pv": row.permission_view_id, "role": row.role_id},
        )
    owner_db.commit()


def test_a_permission_taken_away_is_gone_from_the_next_page(app, visit, schools_menu_taken_away):
    platform = visit(None, "platform@coursecove.demo")
    with app.app_context():  # both requests share it, as in a test or a CLI command
        before = platform.get("/").get_data(as_text=True)
        schools_menu_taken_away()
        after = platform.get("/").get_data(as_text=True)

    assert 'href="/organizationview/list/"' in before
    assert 'href="/organizationview/list/"' not in after


def test_a_schools_pages_carry_its_own_name(visit):
    admin = visit("musicschool", "grace@musicschool.demo")

    for path in ("/", "/instructorview/list/", "/login/"):
        page = (admin if path != "/login/" else visit("musicschool")).get(path).data.decode()
        brand = re.search(
            r'class="navbar-brand">.*?data-school-brand>.*?<span>([^<]+)</span>', page, re.S
        )
        assert brand and brand.group(1) == "Riverside Music School", path


def test_invalid_or_reserved_subdomain_is_refused(visit, owner_db):
    platform = visit(None, "platform@coursecove.demo")
    before = owner_db.scalar(select(func.count()).select_from(Organization))

    reserved = platform.post(
        "/organizationview/add", data={"name": "Sneaky", "subdomain": "admin", "time_zone": "UTC"}
    ).data.decode()
    malformed = platform.post(
        "/organizationview/add",
        data={"name": "Sneaky", "subdomain": "Bad_Name", "time_zone": "UTC"},
    ).data.decode()

    assert "is reserved" in reserved
    assert "lowercase letters, digits and hyphens" in malformed
    owner_db.expire_all()
    assert owner_db.scalar(select(func.count()).select_from(Organization)) == before


def test_school_admins_cannot_manage_schools(visit):
    school_admin_on_platform = visit(None, "grace@musicschool.demo")

    assert school_admin_on_platform.get("/organizationview/list/").status_code in (302, 403)
