"""School admins invite people by e-mail: the link sets the person's own password, expires,
works once, can be sent again (the old link then stops working) and is shown as pending."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.models import Invitation, Membership, User
from tests.accounts.links import choose_password, link_in, only_mail_to, path_of, signs_in

MUSIC_ADMIN = "grace@musicschool.demo"


@pytest.fixture
def admin(visit):
    return visit("musicschool", MUSIC_ADMIN)


def invite(admin, email: str, view: str = "instructorview"):
    return admin.post(
        f"/{view}/add",
        follow_redirects=True,
        data={"first_name": "Yo-Yo", "last_name": "Ma", "person_email": email, "active": "y"},
    )


def resend(admin, membership_id: int, follow_redirects: bool = True):
    return admin.post(f"/instructorview/resend/{membership_id}", follow_redirects=follow_redirects)


def password_of(owner_db, email: str) -> str:
    owner_db.expire_all()
    return owner_db.scalar(sa.select(User.password).where(User.email == email))


def test_an_invited_instructor_chooses_a_password_and_is_signed_in(
    admin, visit, people, owner_db, mailbox
):
    email = people.new("cellist")

    page = invite(admin, email)

    assert f"Invitation sent to {email}" in page.data.decode()
    message = only_mail_to(mailbox, email)
    assert message["Subject"] == "You are invited to Riverside Music School on CourseCove"
    link = link_in(message)
    assert link.startswith("http://musicschool.coursecove.test/welcome/")
    assert "Invitation pending" in admin.get("/instructorview/list/").data.decode()

    browser = visit("musicschool")
    shown = browser.get(path_of(link))
    accepted = choose_password(browser, link, "cello-suite-1")

    assert shown.status_code == 200 and "an instructor" in shown.data.decode()
    assert accepted.status_code == 302
    assert browser.get("/teaching/").status_code == 200
    assert signs_in(visit("musicschool"), email, "cello-suite-1")
    assert "Signed up" in admin.get("/instructorview/list/").data.decode()


def test_an_expired_invitation_is_refused_and_sets_nothing(
    admin, visit, people, owner_db, mailbox, clock
):
    email = people.new("late")
    invite(admin, email)
    link = link_in(only_mail_to(mailbox, email))

    clock.advance(timedelta(days=7, minutes=1))
    browser = visit("musicschool")
    shown = browser.get(path_of(link))
    posted = choose_password(browser, link, "too-late-now")

    assert shown.status_code == 410 and "This link has expired" in shown.data.decode()
    assert "Ask Riverside Music School to send you a new one" in shown.data.decode()
    assert posted.status_code == 410
    assert password_of(owner_db, email) == "!no-password"
    assert "Invitation expired" in admin.get("/instructorview/list/").data.decode()


def test_an_invitation_works_once(admin, visit, people, owner_db, mailbox):
    email = people.new("once")
    invite(admin, email)
    link = link_in(only_mail_to(mailbox, email))
    assert choose_password(visit("musicschool"), link, "first-password").status_code == 302
    first_hash = password_of(owner_db, email)

    again = choose_password(visit("musicschool"), link, "second-password")

    assert again.status_code == 410 and "already been used" in again.data.decode()
    assert password_of(owner_db, email) == first_hash
    assert not signs_in(visit("musicschool"), email, "second-password")


def test_sending_again_replaces_the_link(admin, visit, people, owner_db, mailbox, org_ids):
    email = people.new("resend")
    invite(admin, email)
    first = link_in(only_mail_to(mailbox, email))
    owner_db.expire_all()
    membership_id = owner_db.scalar(
        sa.select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == email)
    )

    page = resend(admin, membership_id)

    assert f"A new invitation link was sent to {email}" in page.data.decode()
    second = link_in(only_mail_to(mailbox, email, count=2))
    assert second != first
    assert visit("musicschool").get(path_of(first)).status_code == 404
    assert choose_password(visit("musicschool"), second, "the-second-link").status_code == 302
    owner_db.expire_all()
    sent = owner_db.scalar(
        sa.select(Invitation.send_count)
        .join(User, User.id == Invitation.user_id)
        .where(User.email == email)
    )
    assert sent == 2


def test_an_invitation_link_does_not_open_on_another_school(admin, visit, people, mailbox):
    email = people.new("elsewhere")
    invite(admin, email)
    link = link_in(only_mail_to(mailbox, email))

    on_yoga = visit("yogastudio").get(path_of(link))
    posted = choose_password(visit("yogastudio"), link, "wrong-school")
    on_platform = visit(None).get(path_of(link))

    assert on_yoga.status_code == 404 and "not valid here" in on_yoga.data.decode()
    assert posted.status_code == 404
    assert on_platform.status_code == 404
    assert not signs_in(visit("yogastudio"), email, "wrong-school")
    assert not signs_in(visit("musicschool"), email, "wrong-school")


def test_another_schools_admin_cannot_resend_or_see_an_invitation(
    admin, visit, people, owner_db, mailbox
):
    email = people.new("private")
    invite(admin, email)
    only_mail_to(mailbox, email)
    owner_db.expire_all()
    membership_id = owner_db.scalar(
        sa.select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == email)
    )
    yoga_admin = visit("yogastudio", "florence@yogastudio.demo")

    resent = resend(yoga_admin, membership_id, follow_redirects=False)
    shown = yoga_admin.get(f"/instructorview/show/{membership_id}")

    assert resent.status_code == 404 and shown.status_code == 404
    mailbox.wait_for(2, seconds=0.5)
    assert len(mailbox.to(email)) == 1


def test_a_link_to_nothing_is_a_clear_404(visit):
    page = visit("musicschool").get("/welcome/not-a-real-token")

    assert page.status_code == 404 and "not valid here" in page.data.decode()


def test_admins_invite_other_admins(admin, visit, people, mailbox):
    email = people.new("coadmin")

    page = invite(admin, email, view="administratorview")
    browser = visit("musicschool")
    choose_password(browser, link_in(only_mail_to(mailbox, email)), "co-admin-pass")

    assert "Invitation sent" in page.data.decode()
    assert "an administrator" in only_mail_to(mailbox, email).get_payload(decode=True).decode()
    assert browser.get("/instructorview/list/").status_code == 200


def test_choosing_a_bad_password_says_why_and_keeps_the_link(admin, visit, people, mailbox):
    email = people.new("short")
    invite(admin, email)
    link = link_in(only_mail_to(mailbox, email))
    browser = visit("musicschool")

    short = choose_password(browser, link, "short")
    differ = browser.post(path_of(link), data={"password": "long enough 1", "confirm": "other"})

    assert short.status_code == 400 and "8 to 128 characters" in short.data.decode()
    assert differ.status_code == 400 and "differ" in differ.data.decode()
    assert browser.get(path_of(link)).status_code == 200


def test_removing_an_invited_person_withdraws_the_link(admin, visit, people, owner_db, mailbox):
    email = people.new("withdrawn")
    invite(admin, email)
    link = link_in(only_mail_to(mailbox, email))
    owner_db.expire_all()
    membership_id = owner_db.scalar(
        sa.select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == email)
    )

    removed = admin.post(f"/instructorview/delete/{membership_id}")
    page = visit("musicschool").get(path_of(link))
    posted = choose_password(visit("musicschool"), link, "still wants in")

    assert removed.status_code == 302
    assert page.status_code == 410 and "withdrawn" in page.data.decode()
    assert posted.status_code == 410
    assert password_of(owner_db, email) == "!no-password"
    owner_db.expire_all()
    assert (
        owner_db.scalar(
            sa.select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email)
        )
        is None
    )


def test_invitation_dates_are_shown_in_the_school_zone(admin, people, clock, mailbox):
    """02:30 UTC on the 10th is still the evening of the 9th in New York."""
    sent = clock.now().astimezone(UTC).replace(hour=2, minute=30, second=0, microsecond=0)
    clock.set(sent + timedelta(days=1))
    sent = clock.now()
    invite(admin, people.new("violist"))

    listed = admin.get("/instructorview/list/").data.decode()

    new_york = sent.astimezone(ZoneInfo("America/New_York"))
    expected = f"sent {new_york:%a %d %b %Y}, {new_york.hour % 12}:30 PM {new_york.tzname()}"
    assert expected in listed, f"expected {expected!r} in the list"
    assert f"sent {sent:%a %d %b %Y}" not in listed, "not the UTC date"
