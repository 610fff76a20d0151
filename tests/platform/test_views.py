"""The platform admin manages schools on the platform domain."""

import re

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
