"""Signing up on a school's subdomain makes you that school's student."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.models import Membership, User
from tests.conftest import Visitor


@pytest.fixture
def new_email(app, owner):
    email = f"newcomer-{time.time_ns()}@example.com"
    yield email
    owner.rollback()
    user_id = owner.scalar(sa.select(User.id).where(User.email == email))
    if user_id:
        owner.execute(sa.delete(Membership).where(Membership.user_id == user_id))
        owner.execute(sa.delete(User).where(User.id == user_id))
        owner.commit()


def memberships_of(owner, email: str) -> list[tuple[str, str]]:
    owner.expire_all()
    return [
        (m.organization.subdomain, m.role.value)
        for m in owner.scalars(
            sa.select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email)
        )
    ]


def signup(visitor: Visitor, email: str, password: str = "a good password", **extra):
    return visitor.post(
        "/signup?next=/book/",
        data={
            "first_name": "Nina",
            "last_name": "Simone",
            "email": email,
            "password": password,
            "confirm": password,
            **extra,
        },
    )


def test_signing_up_makes_a_signed_in_student_of_this_school(visit, new_email, owner):
    visitor = visit("musicschool")

    response = signup(visitor, new_email)
    mine = visitor.get("/bookings/")

    assert response.status_code == 302 and response.headers["Location"].endswith("/book/")
    assert memberships_of(owner, new_email) == [("musicschool", "student")]
    assert mine.status_code == 200 and b"My bookings" in mine.data


def test_signup_form_problems_are_shown_and_nothing_is_created(visit, new_email, owner):
    visitor = visit("musicschool")

    short = signup(visitor, new_email, password="short")
    differ = signup(visitor, new_email, confirm="something else")
    bad_email = signup(visitor, "not-an-email")

    assert short.status_code == 400 and b"at least 8" in short.data
    assert differ.status_code == 400 and b"differ" in differ.data
    assert bad_email.status_code == 400
    assert memberships_of(owner, new_email) == []


def test_an_existing_account_joins_with_its_own_password_only(visit, owner):
    wrong = signup(visit("musicschool"), "jane@yogastudio.demo", password="not her password")
    assert wrong.status_code == 400 and b"already an account" in wrong.data
    assert memberships_of(owner, "jane@yogastudio.demo") == [("yogastudio", "student")]

    right = signup(visit("musicschool"), "jane@yogastudio.demo", password="coursecove-demo")
    try:
        assert right.status_code == 302
        assert sorted(memberships_of(owner, "jane@yogastudio.demo")) == [
            ("musicschool", "student"),
            ("yogastudio", "student"),
        ]
    finally:
        owner.execute(
            sa.delete(Membership).where(
                Membership.user_id
                == sa.select(User.id).where(User.email == "jane@yogastudio.demo").scalar_subquery(),
                Membership.organization_id
                == sa.select(Membership.organization_id)
                .join(User, User.id == Membership.user_id)
                .where(User.email == "grace@musicschool.demo")
                .scalar_subquery(),
            )
        )
        owner.commit()


def test_signup_never_redirects_off_site(visit, new_email):
    visitor = visit("musicschool")

    response = visitor.post(
        "/signup?next=https://evil.example/",
        data={
            "first_name": "Nina",
            "last_name": "Simone",
            "email": new_email,
            "password": "a good password",
            "confirm": "a good password",
        },
    )

    assert response.status_code == 302 and response.headers["Location"] == "/book/"
