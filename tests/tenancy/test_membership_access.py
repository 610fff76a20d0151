"""Who may enter which school's pages."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Organization


def test_member_of_one_school_gets_403_on_another_even_with_its_cookie(visit):
    music_admin = visit("musicschool", "grace@musicschool.demo")
    cookie = music_admin.client.get_cookie("session", domain=music_admin.host)
    yoga = visit("yogastudio")
    yoga.client.set_cookie("session", cookie.value, domain=yoga.host)

    response = yoga.get("/")

    assert response.status_code == 403
    assert b"not a member of Lotus Yoga Studio" in response.data


def test_session_cookie_is_host_only(visit):
    music_admin = visit("musicschool", "grace@musicschool.demo")
    cookie = music_admin.client.get_cookie("session", domain=music_admin.host)

    assert cookie is not None and not cookie.domain.startswith(".")
    assert visit("yogastudio").get("/").status_code == 200, (
        "anonymous on yoga: the cookie was not sent"
    )


def test_unknown_subdomain_and_foreign_host_are_404_pages(visit, app):
    unknown = visit("nosuchschool").get("/")
    foreign = app.test_client().get("/", base_url="http://evil.example.com")
    malformed = app.test_client().get("/", headers={"Host": "bad_host!!.coursecove.test"})

    assert (unknown.status_code, foreign.status_code, malformed.status_code) == (404, 404, 404)
    assert b"No school uses the address" in unknown.data
    assert b"Traceback" not in unknown.data + foreign.data + malformed.data


def test_inactive_school_is_a_403_page(visit, owner_db):
    school = owner_db.scalar(select(Organization).where(Organization.subdomain == "yogastudio"))
    school.active = False
    owner_db.commit()
    try:
        response = visit("yogastudio").get("/")
    finally:
        school.active = True
        owner_db.commit()

    assert response.status_code == 403
    assert b"not taking visitors" in response.data


def test_roles_follow_the_membership_of_the_current_school(visit):
    instructor = visit("musicschool", "clara@musicschool.demo")
    student = visit("musicschool", "ada@musicschool.demo")

    assert instructor.get("/teaching/").status_code == 200
    assert instructor.get("/appointmenttypeview/list/").status_code in (302, 403)
    assert student.get("/teaching/").status_code in (302, 403)
    assert student.get("/locationview/list/").status_code in (302, 403)


def test_menus_show_only_what_the_role_may_use(visit):
    admin_home = visit("musicschool", "grace@musicschool.demo").get("/").data.decode()
    instructor_home = visit("musicschool", "clara@musicschool.demo").get("/").data.decode()

    assert "Appointment setup" in admin_home and "My teaching" not in admin_home
    assert "My teaching" in instructor_home and "Appointment setup" not in instructor_home


def test_school_panels_do_not_exist_on_the_platform_domain(visit):
    platform_admin = visit(None, "platform@coursecove.demo")

    assert platform_admin.get("/appointmenttypeview/list/").status_code == 404
    assert platform_admin.get("/organizationview/list/").status_code == 200
