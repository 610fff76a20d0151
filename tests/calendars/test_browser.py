"""Real browser (Debian's chromium, CSRF on): an admin opens the week view and cancels a
lesson from it with the keyboard; an instructor opens a lesson from the portal, reads the
student's details and cancels it with a reason; the week is readable on a phone."""

from __future__ import annotations

import re

import pytest

from app.models import Booking
from tests.conftest import PHONE, sign_in

pytestmark = pytest.mark.browser


def status_of(owner, booking_id: int) -> str:
    owner.expire_all()
    return owner.get(Booking, booking_id).status


def test_admin_opens_the_week_view_and_cancels_a_lesson_by_keyboard(
    browser_site, new_page, music, book, owner
):
    from playwright.sync_api import expect

    _, lesson = book(music, days_ahead=8, notes="Bring the Czerny")
    page = new_page()
    sign_in(page, browser_site, "musicschool", "grace@musicschool.demo")
    page.goto(browser_site.url("musicschool", "/calendar/"))
    expect(page.get_by_role("heading", name="Booking calendar")).to_be_visible()
    expect(page.locator("[data-zone]")).to_contain_text("America/New York")

    entry = page.locator(f'.cal-wrap [data-booking="{lesson}"]')
    for _ in range(3):  # the lesson is 8 days ahead: this week or one of the next two
        if entry.count():
            break
        shown = page.locator("[data-range]").inner_text()
        page.get_by_role("link", name=re.compile("Next")).click()
        expect(page.locator("[data-range]")).not_to_have_text(shown)
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("Ada Lovelace")
    expect(entry).to_contain_text("Clara Schumann")

    entry.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/calendar/bookings/{lesson}$"))
    expect(page.locator("[data-seats-table]")).to_contain_text("Bring the Czerny")
    page.get_by_label(re.compile("Reason")).fill("The piano is being tuned")
    page.get_by_role("button", name="Cancel this lesson").click()

    expect(page.locator("[data-status]").first).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_role("status").or_(page.locator(".alert")).first).to_contain_text(
        "cancelled"
    )
    assert status_of(owner, lesson) == "cancelled"


def test_instructor_opens_a_lesson_from_the_portal_and_cancels_it(
    browser_site, new_page, music, book, owner
):
    from playwright.sync_api import expect

    _, lesson = book(music, days_ahead=3, notes="Wants to try jazz")
    page = new_page()
    sign_in(page, browser_site, "musicschool", "clara@musicschool.demo")
    page.goto(browser_site.url("musicschool", "/teaching/schedule/"))
    page.locator(f'[data-lesson-link="{lesson}"]').click()

    expect(page).to_have_url(re.compile(rf"/teaching/lessons/{lesson}$"))
    student = page.locator("[data-student]")
    expect(student).to_contain_text("Ada Lovelace")
    expect(student).to_contain_text("ada@musicschool.demo")
    expect(student).to_contain_text("Wants to try jazz")
    page.get_by_label(re.compile("Reason")).fill("Concert tour")
    page.get_by_role("button", name="Cancel this lesson").click()

    expect(page.locator("[data-status]").first).to_have_attribute("data-status", "cancelled")
    expect(page.locator("[data-history]")).to_contain_text("Concert tour")
    assert status_of(owner, lesson) == "cancelled"


def test_instructor_week_on_a_phone_lists_the_days(browser_site, new_page, music, book):
    from playwright.sync_api import expect

    _, lesson = book(music, days_ahead=1)
    page = new_page(viewport=PHONE)
    sign_in(page, browser_site, "musicschool", "clara@musicschool.demo")
    page.goto(browser_site.url("musicschool", "/teaching/week"))
    entry = page.locator(f'[data-agenda] [data-booking="{lesson}"]')
    if not entry.count():
        shown = page.locator("[data-range]").inner_text()
        page.get_by_role("link", name=re.compile("Next week")).click()
        expect(page.locator("[data-range]")).not_to_have_text(shown)

    expect(page.locator(".cal-wrap")).to_be_hidden()
    expect(entry).to_be_visible()
    expect(page.locator("[data-agenda]")).to_contain_text("Working")
    entry.click()
    expect(page.locator("[data-student]")).to_contain_text("Ada Lovelace")
