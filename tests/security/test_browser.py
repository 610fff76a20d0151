"""In a real browser, with CSRF protection and the Content-Security-Policy on: an admin still
deletes a row by clicking, everybody signs out by clicking "Sign out" (a POST with the page's
token), and no page's script or style is refused by the policy."""

from __future__ import annotations

import re

import pytest

from app.models import SchoolClosure
from tests.conftest import sign_in

pytestmark = pytest.mark.browser


def _watch_policy(page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


def test_an_admin_deletes_a_closure_by_clicking(browser_site, new_page, owner_db, closure):
    from playwright.sync_api import expect

    page = new_page()
    refused = _watch_policy(page)
    sign_in(page, browser_site, "musicschool", "grace@musicschool.demo")
    page.goto(browser_site.url("musicschool", "/schoolclosureview/list/"))
    row = page.get_by_role("row").filter(has_text="Forgery target")
    row.get_by_role("link", name="Delete").click()
    page.get_by_role("dialog").get_by_role("link", name="OK").click()

    expect(page.get_by_role("row").filter(has_text="Forgery target")).to_have_count(0)
    owner_db.rollback()
    assert owner_db.get(SchoolClosure, closure) is None, "the row is still in the database"
    assert not refused, f"the policy refused: {refused}"


@pytest.mark.parametrize(
    ("email", "paths"),
    [
        (
            "grace@musicschool.demo",
            ["/", "/locationview/list/", "/locationview/add", "/bookingview/list/"],
        ),
        ("ada@musicschool.demo", ["/", "/book/", "/bookings/", "/signup"]),
        ("clara@musicschool.demo", ["/teaching/", "/teaching/schedule/"]),
    ],
)
def test_pages_run_under_the_content_security_policy(browser_site, new_page, email, paths):
    page = new_page()
    refused = _watch_policy(page)
    sign_in(page, browser_site, "musicschool", email)
    for path in paths:
        response = page.goto(browser_site.url("musicschool", path))
        assert response.status < 400, f"{path}: {response.status}"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert not refused, f"the policy refused on {paths}: {refused}"


def _open_menu_holding_sign_out(page) -> None:
    """FAB's navbar keeps "Sign out" in the menu under the person's name; the booking pages'
    top bar shows it as it is."""
    menu = page.locator(".navbar-right .dropdown-toggle")
    if menu.count():
        menu.click()


@pytest.mark.parametrize(
    ("email", "page_with_navbar", "private_page"),
    [
        ("grace@musicschool.demo", "/", "/locationview/list/"),
        ("ada@musicschool.demo", "/book/", "/bookings/"),
        ("clara@musicschool.demo", "/teaching/", "/teaching/"),
    ],
    ids=["admin", "student", "instructor"],
)
def test_a_person_signs_out_by_clicking_sign_out(
    browser_site, new_page, email, page_with_navbar, private_page
):
    from playwright.sync_api import expect

    page = new_page()
    refused = _watch_policy(page)
    sign_in(page, browser_site, "musicschool", email, through_the_form=True)
    page.goto(browser_site.url("musicschool", page_with_navbar))

    _open_menu_holding_sign_out(page)
    page.get_by_role("button", name="Sign out").click()

    page.wait_for_url(re.compile(r"/(login/?)?(\?.*)?$"))
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    page.goto(browser_site.url("musicschool", private_page))
    assert "/login" in page.url, f"expected {private_page} to ask for sign-in, got {page.url}"
    assert not refused, f"the policy refused: {refused}"
