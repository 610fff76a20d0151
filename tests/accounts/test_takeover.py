"""Issue 9, defect 1: nobody can take over an account of another school by choosing its
password first. Each test replays the attack as it was reported."""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app.models import Membership, User
from tests.accounts.links import choose_password, link_in, only_mail_to, signs_in

ATTACKER_PASSWORD = "attacker-chose-this"


def account(owner_db, email: str) -> User | None:
    owner_db.expire_all()
    return owner_db.scalar(sa.select(User).where(User.email == email))


def schools_of(owner_db, email: str) -> list[tuple[str, str]]:
    owner_db.expire_all()
    return sorted(
        (m.organization.subdomain, m.role.value)
        for m in owner_db.scalars(
            sa.select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email)
        )
    )


def test_signup_with_someone_elses_address_then_an_admin_adds_it_gives_the_attacker_nothing(
    visit, people, owner_db, mailbox
):
    victim = people.new("victim")
    attacker = visit("musicschool")

    # The attack: sign up with the victim's address and a password of the attacker's choice…
    attacker.post(
        "/signup",
        data={
            "first_name": "Vic",
            "last_name": "Tim",
            "email": victim,
            "password": ATTACKER_PASSWORD,
            "confirm": ATTACKER_PASSWORD,
        },
    )
    # …then the yoga studio's admin adds that address as an instructor (with a password of
    # the admin's choice, as the old form allowed).
    added = visit("yogastudio", "florence@yogastudio.demo").post(
        "/instructorview/add",
        data={
            "first_name": "Vic",
            "last_name": "Tim",
            "person_email": victim,
            "password": "admin-chose-this",
            "active": "y",
        },
    )

    assert added.status_code == 302
    assert not signs_in(visit("yogastudio"), victim, ATTACKER_PASSWORD)
    assert not signs_in(visit("musicschool"), victim, ATTACKER_PASSWORD)
    assert not signs_in(visit("yogastudio"), victim, "admin-chose-this")
    person = account(owner_db, victim)
    assert not check_password_hash(person.password, ATTACKER_PASSWORD)
    # The sign-up made nobody a student: that waits for the link in the victim's mailbox.
    assert schools_of(owner_db, victim) == [("yogastudio", "instructor")]

    # The address's owner follows the yoga studio's invitation and chooses the password.
    mailbox.wait_for(2)
    invitation = next(m for m in mailbox.to(victim) if "invited" in m["Subject"])
    owner_browser = visit("yogastudio")
    accepted = choose_password(owner_browser, link_in(invitation), "the-owners-own-password")

    assert accepted.status_code == 302
    assert owner_browser.get("/teaching/").status_code == 200
    assert signs_in(visit("yogastudio"), victim, "the-owners-own-password")
    assert not signs_in(visit("yogastudio"), victim, ATTACKER_PASSWORD)


def test_an_unconfirmed_signup_cannot_sign_in_anywhere(visit, people, owner_db, mailbox):
    email = people.new("unconfirmed")

    response = visit("musicschool").post(
        "/signup",
        data={"first_name": "Una", "last_name": "Firmed", "email": email},
    )

    assert response.status_code == 200 and b"Check your e-mail" in response.data
    assert schools_of(owner_db, email) == []
    for school in ("musicschool", "yogastudio", None):
        assert not signs_in(visit(school), email, "")
        assert not signs_in(visit(school), email, "!no-password")
    assert "Confirm your e-mail" in only_mail_to(mailbox, email)["Subject"]


def test_adding_an_existing_account_keeps_its_password_and_says_what_happened(
    visit, people, owner_db, mailbox
):
    ada = people.remember("ada@musicschool.demo")  # a music school student
    before = account(owner_db, ada).password
    try:
        page = visit("yogastudio", "florence@yogastudio.demo").post(
            "/studentview/add",
            follow_redirects=True,
            data={
                "first_name": "Someone",
                "last_name": "Else",
                "person_email": "Ada@MusicSchool.demo",
                "active": "y",
            },
        )

        text = page.data.decode()
        assert (
            "ada@musicschool.demo already has a CourseCove account; they have been added as "
            "a student and told by e-mail." in text
        )
        person = account(owner_db, ada)
        assert person.password == before and person.first_name == "Ada"
        assert "coursecove-demo" not in text
        notice = only_mail_to(mailbox, ada)
        assert notice["Subject"] == "You have been added to Lotus Yoga Studio"
        assert "password has not changed" in notice.get_payload(decode=True).decode()
        assert signs_in(visit("yogastudio"), ada, "coursecove-demo")
    finally:
        people.emails.remove(ada)
        owner_db.execute(
            sa.delete(Membership).where(
                Membership.user_id == account(owner_db, ada).id,
                Membership.organization_id
                == sa.select(Membership.organization_id)
                .join(User, User.id == Membership.user_id)
                .where(User.email == "florence@yogastudio.demo")
                .scalar_subquery(),
            )
        )
        owner_db.commit()


def test_no_admin_form_asks_for_someone_elses_password(visit):
    admin = visit("musicschool", "grace@musicschool.demo")

    for view in ("instructorview", "studentview", "administratorview"):
        form = admin.get(f"/{view}/add").data.decode()
        assert 'type="password"' not in form, view
        assert "Email" in form
