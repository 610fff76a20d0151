""" "Forgot password?" on every sign-in page: a link by e-mail that expires, works once, works
only on the site where it was asked for, and says the same whoever the address belongs to."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from app.models import PasswordReset, User
from tests.accounts.links import choose_password, link_in, only_mail_to, path_of, signs_in

ADA = "ada@musicschool.demo"


@pytest.fixture
def ada_password_restored(owner_db):
    """The demo student's password is put back afterwards (other tests sign in with it)."""
    yield
    owner_db.rollback()
    owner_db.execute(
        sa.update(User)
        .where(User.email == ADA)
        .values(password=generate_password_hash("coursecove-demo"))
    )
    owner_db.execute(
        sa.delete(PasswordReset).where(
            PasswordReset.user_id == sa.select(User.id).where(User.email == ADA).scalar_subquery()
        )
    )
    owner_db.commit()


def ask(visitor, email: str):
    return visitor.post("/forgot-password", data={"email": email})


@pytest.mark.parametrize("school", ["musicschool", "yogastudio", None])
def test_every_sign_in_page_asks_for_an_email_and_offers_a_reset(visit, school):
    page = visit(school).get("/login/").data.decode()

    assert "E-mail address" in page and "Username" not in page
    assert 'href="/forgot-password"' in page
    assert visit(school).get("/forgot-password").status_code == 200


def test_a_reset_link_sets_a_new_password_and_the_old_one_stops_working(
    visit, owner_db, mailbox, ada_password_restored
):
    asked = ask(visit("musicschool"), "  ADA@musicschool.demo ")
    message = only_mail_to(mailbox, ADA)
    link = link_in(message)
    browser = visit("musicschool")
    form = browser.get(path_of(link))
    done = choose_password(browser, link, "a brand new password")

    assert asked.status_code == 200 and "If <strong>" in asked.data.decode()
    assert message["Subject"] == "Choose a new password for Riverside Music School"
    assert link.startswith("http://musicschool.coursecove.test/reset-password/")
    assert form.status_code == 200 and ADA in form.data.decode()
    assert done.status_code == 302
    assert browser.get("/bookings/").status_code == 200
    assert signs_in(visit("musicschool"), ADA, "a brand new password")
    assert not signs_in(visit("musicschool"), ADA, "coursecove-demo")


def test_a_reset_link_works_once(visit, owner_db, mailbox, ada_password_restored):
    ask(visit("musicschool"), ADA)
    link = link_in(only_mail_to(mailbox, ADA))
    choose_password(visit("musicschool"), link, "first new password")

    again = choose_password(visit("musicschool"), link, "second new password")

    assert again.status_code == 410 and "already been used" in again.data.decode()
    assert not signs_in(visit("musicschool"), ADA, "second new password")


def test_an_expired_reset_link_is_refused(visit, mailbox, clock, ada_password_restored):
    ask(visit("musicschool"), ADA)
    link = link_in(only_mail_to(mailbox, ADA))

    clock.advance(timedelta(minutes=61))
    page = visit("musicschool").get(path_of(link))
    posted = choose_password(visit("musicschool"), link, "too late password")

    assert page.status_code == 410 and "expired" in page.data.decode()
    assert posted.status_code == 410
    assert signs_in(visit("musicschool"), ADA, "coursecove-demo")


def test_a_reset_link_does_not_open_on_another_site(visit, mailbox, ada_password_restored):
    ask(visit("musicschool"), ADA)
    link = link_in(only_mail_to(mailbox, ADA))

    on_yoga = choose_password(visit("yogastudio"), link, "hijacked password")
    on_platform = visit(None).get(path_of(link))

    assert on_yoga.status_code == 404 and "not valid here" in on_yoga.data.decode()
    assert on_platform.status_code == 404
    assert signs_in(visit("musicschool"), ADA, "coursecove-demo")


def test_asking_for_an_unknown_or_foreign_address_says_the_same_and_sends_nothing(
    visit, owner_db, mailbox
):
    before = owner_db.scalar(sa.select(sa.func.count()).select_from(PasswordReset))

    unknown = ask(visit("musicschool"), "nobody-at-all@example.org")
    other_school = ask(visit("yogastudio"), ADA)
    not_an_email = ask(visit("musicschool"), "not an email")

    assert unknown.status_code == 200 and other_school.status_code == 200
    assert "If <strong>" in unknown.data.decode()
    assert not_an_email.status_code == 400 and "Invalid email" in not_an_email.data.decode()
    assert mailbox.wait_for(1, seconds=0.5) == []
    owner_db.expire_all()
    assert owner_db.scalar(sa.select(sa.func.count()).select_from(PasswordReset)) == before


def test_the_platform_admin_resets_on_the_platform(visit, owner_db, mailbox):
    platform = "platform@coursecove.demo"
    ask(visit(None), platform)
    link = link_in(only_mail_to(mailbox, platform))
    try:
        assert link.startswith("http://coursecove.test/reset-password/")
        browser = visit(None)
        assert choose_password(browser, link, "platform new password").status_code == 302
        assert browser.get("/organizationview/list/").status_code == 200
    finally:
        owner_db.execute(
            sa.update(User)
            .where(User.email == platform)
            .values(password=generate_password_hash("coursecove-demo"))
        )
        owner_db.commit()


@pytest.mark.parametrize(
    "path",
    [
        "/welcome/" + "x" * 5000,
        "/welcome/%E2%98%83%F0%9F%8E%B9",
        "/reset-password/" + "y" * 5000,
    ],
)
def test_junk_links_are_a_clear_404_and_write_nothing(visit, path):
    for method in ("get", "post"):
        page = getattr(visit("musicschool"), method)(path, data={"password": "whatever 123"})
        assert page.status_code == 404, (method, path, page.status_code)
        assert "not valid here" in page.data.decode()


def test_an_overlong_address_is_refused_with_a_sentence(visit, mailbox):
    page = ask(visit("musicschool"), "a" * 300 + "@example.org")

    assert page.status_code == 400 and "E-mail address" in page.data.decode()
    assert mailbox.wait_for(1, seconds=0.3) == []
