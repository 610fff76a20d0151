"""Signing up on a school's subdomain: the address is proven by a mailed link, which makes
the person a student of this school (choosing a password, or keeping an existing one)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.models import Membership, User
from tests.accounts.links import (
    choose_password,
    link_in,
    only_mail_to,
    path_of,
    signs_in,
)
from tests.conftest import Visitor


@pytest.fixture
def new_email(people):
    return people.new("newcomer")


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


def signup(visitor: Visitor, email: str, **extra):
    return visitor.post(
        "/signup?next=/book/",
        data={"first_name": "Nina", "last_name": "Simone", "email": email, **extra},
    )


def test_signing_up_mails_a_link_that_makes_a_signed_in_student(visit, new_email, owner, mailbox):
    visitor = visit("musicschool")

    response = signup(visitor, new_email)
    before_link = memberships_of(owner, new_email)
    message = only_mail_to(mailbox, new_email)
    accepted = choose_password(visitor, link_in(message), "a good password")
    mine = visitor.get("/bookings/")

    assert response.status_code == 200 and b"Check your e-mail" in response.data
    assert before_link == []
    assert message["Subject"] == "Confirm your e-mail to join Riverside Music School"
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/book/")
    assert memberships_of(owner, new_email) == [("musicschool", "student")]
    assert mine.status_code == 200 and b"My bookings" in mine.data
    assert signs_in(visit("musicschool"), new_email, "a good password")
    # An address proven at one school is not a member elsewhere.
    assert visit("yogastudio").login(new_email, "a good password").get("/").status_code == 403


def test_signup_form_problems_are_shown_and_nothing_is_created(visit, new_email, owner, mailbox):
    visitor = visit("musicschool")

    no_name = signup(visitor, new_email, first_name="")
    bad_email = signup(visitor, "not-an-email")

    assert no_name.status_code == 400 and b"First name" in no_name.data
    assert bad_email.status_code == 400 and b"Invalid email" in bad_email.data
    owner.expire_all()
    assert owner.scalar(sa.select(User.id).where(User.email == new_email)) is None
    assert mailbox.wait_for(1, seconds=0.5) == []


def test_an_existing_account_joins_through_the_link_and_keeps_its_password(visit, owner, mailbox):
    jane = "jane@yogastudio.demo"
    hash_before = owner.scalar(sa.select(User.password).where(User.email == jane))
    try:
        asked = signup(visit("musicschool"), jane, first_name="Not", last_name="Jane")
        assert asked.status_code == 200 and b"Check your e-mail" in asked.data
        assert memberships_of(owner, jane) == [("yogastudio", "student")]

        link = link_in(only_mail_to(mailbox, jane))
        browser = visit("musicschool")
        page = browser.get(path_of(link))
        joined = browser.post(path_of(link))

        assert page.status_code == 200 and "keeps its password" in page.data.decode()
        assert b'type="password"' not in page.data
        assert joined.status_code == 302 and "/login/" in joined.headers["Location"]
        assert sorted(memberships_of(owner, jane)) == [
            ("musicschool", "student"),
            ("yogastudio", "student"),
        ]
        owner.expire_all()
        assert owner.scalar(sa.select(User.password).where(User.email == jane)) == hash_before
        assert signs_in(visit("musicschool"), jane, "coursecove-demo")
    finally:
        owner.rollback()
        owner.execute(
            sa.text(
                "DELETE FROM invitations WHERE user_id = (SELECT id FROM ab_user WHERE email = :e)"
            ),
            {"e": jane},
        )
        owner.execute(
            sa.delete(Membership).where(
                Membership.user_id
                == sa.select(User.id).where(User.email == jane).scalar_subquery(),
                Membership.organization_id
                == sa.select(Membership.organization_id)
                .join(User, User.id == Membership.user_id)
                .where(User.email == "grace@musicschool.demo")
                .scalar_subquery(),
            )
        )
        owner.commit()


def test_signing_up_again_as_a_member_changes_nothing_and_says_the_same(visit, owner, mailbox):
    ada = "ada@musicschool.demo"
    hash_before = owner.scalar(sa.select(User.password).where(User.email == ada))

    response = signup(visit("musicschool"), ada)

    assert response.status_code == 200 and b"Check your e-mail" in response.data
    message = only_mail_to(mailbox, ada)
    assert message["Subject"] == "You already have a place at Riverside Music School"
    owner.expire_all()
    assert owner.scalar(sa.select(User.password).where(User.email == ada)) == hash_before


def test_a_member_on_the_signup_page_goes_on_to_next_but_never_off_site(visit):
    visitor = visit("musicschool", "ada@musicschool.demo")

    local = visitor.get("/signup?next=/bookings/")
    elsewhere = visitor.get("/signup?next=https://evil.example/")

    assert local.status_code == 302 and local.headers["Location"] == "/bookings/"
    assert "evil.example" not in elsewhere.headers.get("Location", "")
