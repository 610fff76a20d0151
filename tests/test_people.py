"""Accounts are found by e-mail and created one way."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from app.extensions import db
from app.people import NO_PASSWORD, add_person, find_person, hash_password
from app.tenancy import privileged


def test_a_person_without_a_password_cannot_sign_in_with_any(app_context):
    with privileged():
        person = add_person("  No.Password@Example.com ", " Nora ", "Nopass")
        found = find_person("no.password@example.COM")
        db.session.rollback()

    assert found is person
    assert (person.email, person.first_name, person.password) == (
        "no.password@example.com",
        "Nora",
        NO_PASSWORD,
    )
    assert not check_password_hash(person.password, "")
    assert not check_password_hash(person.password, NO_PASSWORD)


def test_a_person_with_a_password_can_use_it(app_context):
    with privileged():
        hashed = hash_password("s3cret-pass")
        person = add_person("with.password@example.com", "Wes", "Pass", password_hash=hashed)
        db.session.rollback()

    assert check_password_hash(person.password, "s3cret-pass")
