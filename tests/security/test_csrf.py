"""CSRF: no state change without a token, on any route of any blueprint; deletes and actions
only by POST (Flask-AppBuilder's GET ``/delete/<id>`` and ``/action/...`` change nothing)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.models import Organization, SchoolClosure

WEBHOOK = "clerk_webhooks.receive_clerk_webhook"


def _post_rules(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.endpoint != WEBHOOK:
            yield rule


def _path(rule) -> str:
    """The rule with every argument filled in with something plausible."""
    values = {name: ("delete" if name == "name" else "1") for name in rule.arguments}
    values.update({"kind": "hours", "filename": "x"})
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule)


@pytest.mark.parametrize("host", ["musicschool", None])
def test_a_tokenless_post_to_any_route_changes_nothing(app, visit, csrf_on, unchanged, host):
    # The school's admin on the school's site; the platform admin on the platform.
    visitor = visit(host, "grace@musicschool.demo" if host else "platform@coursecove.demo")
    csrf_on()
    accepted = []
    for rule in _post_rules(app):
        response = visitor.post(_path(rule), data={"name": "Forged", "id": "1"})
        if response.status_code != 400 or b"CSRF" not in response.data:
            accepted.append(f"{rule.rule} -> {response.status_code}")
    assert not accepted, f"expected 400 (CSRF token missing) on every POST, got: {accepted}"
    unchanged()


def _exists(owner_db, model, row_id) -> bool:
    owner_db.rollback()
    return owner_db.get(model, row_id) is not None


@pytest.mark.parametrize("switch_on", [False, True], ids=["csrf-config-off", "csrf-on"])
def test_a_delete_by_get_deletes_nothing(visit, csrf_on, owner_db, closure, switch_on):
    admin = visit("musicschool", "grace@musicschool.demo")
    if switch_on:
        csrf_on()
    response = admin.get(f"/schoolclosureview/delete/{closure}")
    assert response.status_code in (302, 405), response.status_code
    assert _exists(owner_db, SchoolClosure, closure), "a GET deleted the closure"


def test_a_delete_by_post_without_token_deletes_nothing(visit, csrf_on, owner_db, closure):
    admin = visit("musicschool", "grace@musicschool.demo")
    csrf_on()
    response = admin.post(f"/schoolclosureview/delete/{closure}")
    assert response.status_code == 400
    assert _exists(owner_db, SchoolClosure, closure)


def test_a_delete_by_post_with_the_pages_token_deletes(visit, csrf_on, owner_db, closure):
    admin = visit("musicschool", "grace@musicschool.demo")
    csrf_on()
    page = admin.get("/schoolclosureview/list/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = admin.post(f"/schoolclosureview/delete/{closure}", data={"csrf_token": token})
    assert response.status_code == 302
    assert not _exists(owner_db, SchoolClosure, closure)


@pytest.fixture
def spare_school(owner_db):
    school = Organization(name="Spare school", subdomain="spareschool", time_zone="UTC")
    owner_db.add(school)
    owner_db.commit()
    school_id = school.id
    yield school_id
    owner_db.rollback()
    owner_db.execute(sa.delete(Organization).where(Organization.id == school_id))
    owner_db.commit()


def test_a_link_to_delete_a_school_deletes_nothing(visit, owner_db, spare_school):
    platform = visit(None, "platform@coursecove.demo")
    response = platform.get(f"/organizationview/delete/{spare_school}")
    assert response.status_code in (302, 405), response.status_code
    assert _exists(owner_db, Organization, spare_school), "a GET deleted a school"


def test_an_action_by_get_does_nothing(visit, owner_db, spare_school, unchanged):
    platform = visit(None, "platform@coursecove.demo")
    response = platform.get(f"/organizationview/action/muldelete/{spare_school}")
    assert response.status_code in (302, 404, 405), response.status_code
    unchanged()


@pytest.mark.parametrize("path", ["/api/v1/security/login", "/api/v1/security/refresh"])
def test_the_json_sign_in_api_is_gone(visit, path):
    response = visit("musicschool").post(
        path, json={"username": "grace@musicschool.demo", "password": "coursecove-demo"}
    )
    assert response.status_code == 404, f"expected 404 for {path}, got {response.status_code}"
