"""Sessions end: a cookie saved before signing out (or before a password change) opens
nothing afterwards; a cookie forged with the signing key but no session version neither."""

from __future__ import annotations

import pytest
from flask.sessions import SecureCookieSessionInterface

from app.demo import DEMO_PASSWORD

STUDENT = "ada@musicschool.demo"


def _cookie(visitor) -> str:
    return visitor.client.get_cookie("session", domain=visitor.host).value


def _with_cookie(visit, value: str):
    thief = visit("musicschool")
    thief.client.set_cookie("session", value, domain=thief.host)
    return thief


def test_a_cookie_saved_before_sign_out_opens_nothing(visit):
    student = visit("musicschool", STUDENT)
    saved = _cookie(student)
    assert _with_cookie(visit, saved).get("/bookings/").status_code == 200, "copy should work"

    student.post("/logout/")  # the navbar's button (TestConfig: no CSRF token needed)

    response = _with_cookie(visit, saved).get("/bookings/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.fixture
def password_restored(app, owner_db):
    yield
    from werkzeug.security import generate_password_hash

    from app.models import User

    owner_db.rollback()
    user = owner_db.query(User).filter_by(email=STUDENT).one()
    user.password = generate_password_hash(DEMO_PASSWORD)
    owner_db.commit()


def test_a_password_change_ends_the_other_sessions_only(visit, password_restored):
    phone = visit("musicschool", STUDENT)
    laptop = visit("musicschool", STUDENT)

    response = laptop.post(
        "/resetmypassword/form",
        data={"password": "a brand new password", "conf_password": "a brand new password"},
    )
    assert response.status_code == 302, response.status_code

    assert laptop.get("/bookings/").status_code == 200, "the changer stays signed in"
    assert phone.get("/bookings/").status_code == 302, "the other session must end"


def test_a_cookie_forged_with_the_key_but_no_session_version_opens_nothing(app, visit):
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    forged = serializer.dumps({"_user_id": "1", "_fresh": True})
    for host in ("musicschool", None):
        visitor = visit(host)
        visitor.client.set_cookie("session", forged, domain=visitor.host)
        assert visitor.get("/users/list/" if host is None else "/bookings/").status_code in (
            302,
            403,
            404,
        )
