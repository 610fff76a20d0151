"""The platform admin manages schools on the platform domain."""

from sqlalchemy import func, select

from app.models import Organization


def test_platform_admin_creates_a_school_reachable_on_its_subdomain(visit, owner_db):
    platform = visit(None, "platform@coursecove.demo")

    response = platform.post(
        "/organizationview/add",
        data={
            "name": "Maths Tutors",
            "subdomain": "mathstutors",
            "time_zone": "Europe/Berlin",
            "active": "y",
        },
    )

    assert response.status_code == 302
    assert visit("mathstutors").get("/").status_code == 200


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
