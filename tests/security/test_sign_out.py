"""Signing out is a POST with the page's CSRF token: what another site can make a browser
send (a link or an ``<img>``: a GET; a form without the token) leaves the person signed in.
The "Sign out" button on every navbar signs out and ends every earlier session."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.models import SessionVersion, User

SIGN_OUT = "/logout/"
# Each place a person signs out from: (site, who, a page with the navbar's "Sign out").
PEOPLE = [
    pytest.param("musicschool", "ada@musicschool.demo", "/book/", id="student-booking-top-bar"),
    pytest.param("musicschool", "grace@musicschool.demo", "/", id="admin-panels-navbar"),
    pytest.param("musicschool", "clara@musicschool.demo", "/teaching/", id="instructor-portal"),
    pytest.param(None, "platform@coursecove.demo", "/", id="platform-admin"),
    pytest.param("musicschool", "ada@musicschool.demo", SIGN_OUT, id="the-sign-out-page"),
]


def sign_out_form(html: str) -> tuple[str, str]:
    """The page's POST form to the sign-out address: (its action, its CSRF token)."""
    form = re.search(
        r'<form[^>]*method="post"[^>]*action="([^"]*/logout/)"[^>]*>(.*?)</form>', html, re.S
    )
    assert form, f"expected a POST form to {SIGN_OUT} on the page, found none"
    assert re.search(r"<button[^>]*>.*Sign out\s*</button>", form.group(2), re.S), (
        f"expected a 'Sign out' button in the form, got {form.group(2)!r}"
    )
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.group(2))
    assert token, "expected the sign-out form to carry a CSRF token"
    return form.group(1), token.group(1)


def signed_in(visitor) -> bool:
    """FAB's sign-in page sends a signed-in person on; it shows the form to anybody else."""
    status = visitor.get("/login/").status_code
    assert status in (200, 302), f"unexpected answer from /login/: {status}"
    return status == 302


def session_version(owner_db, email: str) -> int:
    owner_db.rollback()
    query = (
        sa.select(SessionVersion.version)
        .join(User, User.id == SessionVersion.user_id)
        .where(User.email == email)
    )
    return owner_db.scalar(query) or 0


def with_cookie_of(visit, visitor, school: str | None):
    """Another browser holding a copy of this visitor's session cookie."""
    copy = visit(school)
    cookie = visitor.client.get_cookie("session", domain=visitor.host).value
    copy.client.set_cookie("session", cookie, domain=copy.host)
    return copy


@pytest.mark.parametrize("switch_on", [False, True], ids=["csrf-config-off", "csrf-on"])
@pytest.mark.parametrize(("school", "email"), [p.values[:2] for p in PEOPLE[:4]])
def test_a_get_of_the_sign_out_address_leaves_the_person_signed_in(
    visit, csrf_on, owner_db, school, email, switch_on
):
    person = visit(school, email)
    if switch_on:
        csrf_on()
    before = session_version(owner_db, email)

    page = person.get(SIGN_OUT)

    assert page.status_code == 200, f"expected the sign-out page (200), got {page.status_code}"
    sign_out_form(page.get_data(as_text=True))  # a button to press, not a sign-out
    assert signed_in(person), f"a GET of {SIGN_OUT} signed {email} out"
    assert session_version(owner_db, email) == before, "a GET ended the person's sessions"


@pytest.mark.parametrize(
    "data", [{}, {"csrf_token": "forged"}], ids=["without-token", "with-a-forged-token"]
)
def test_a_post_without_the_pages_token_is_refused(visit, csrf_on, owner_db, data):
    email = "ada@musicschool.demo"
    student = visit("musicschool", email)
    csrf_on()
    before = session_version(owner_db, email)

    response = student.post(SIGN_OUT, data=data)

    assert response.status_code == 400 and b"CSRF" in response.data, (
        f"expected 400 (CSRF token missing or invalid), got {response.status_code}"
    )
    assert signed_in(student), "a POST without the page's token signed the student out"
    assert session_version(owner_db, email) == before, "a forged POST ended the sessions"


@pytest.mark.parametrize(("school", "email", "page"), PEOPLE)
def test_the_sign_out_button_signs_out_and_ends_the_earlier_sessions(
    visit, csrf_on, owner_db, school, email, page
):
    person = visit(school, email)
    csrf_on()
    copied = with_cookie_of(visit, person, school)
    assert signed_in(copied), "the copied cookie should work before signing out"
    before = session_version(owner_db, email)
    action, token = sign_out_form(person.get(page).get_data(as_text=True))

    response = person.post(action, data={"csrf_token": token})

    assert response.status_code == 302, f"expected a redirect home, got {response.status_code}"
    assert not signed_in(person), f"{email} is still signed in after pressing 'Sign out'"
    assert not signed_in(copied), "a cookie saved before signing out still opens the site"
    assert session_version(owner_db, email) == before + 1, "expected the sessions ended"


def test_a_signed_out_visitor_is_told_so_with_a_way_back_in(visit):
    page = visit("musicschool").get(SIGN_OUT)

    body = page.get_data(as_text=True)
    assert page.status_code == 200, f"expected 200, got {page.status_code}"
    assert "You are signed out" in body and 'href="/login/"' in body, body[-800:]
