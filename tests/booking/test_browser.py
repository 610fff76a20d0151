"""One real browser (Debian's chromium, driven by Playwright): a student signs up, books a
lesson, finds it in My bookings and cancels it — with JavaScript on and CSRF protection on."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from app.models import BookingAttendee, Membership, User
from tests.accounts.links import link_in
from tests.conftest import PHONE

pytestmark = pytest.mark.browser


@pytest.fixture
def student_email(owner, rows_written):
    email = f"browser-{time.time_ns()}@example.com"
    yield email
    rows_written.remove()
    owner.rollback()
    user_id = owner.scalar(sa.select(User.id).where(User.email == email))
    if user_id:
        owner.execute(sa.delete(Membership).where(Membership.user_id == user_id))
        owner.execute(sa.delete(User).where(User.id == user_id))
        owner.commit()


def test_student_signs_up_books_sees_and_cancels_a_lesson(
    browser_site, new_page, student_email, owner, mailbox, outbox
):
    from playwright.sync_api import expect

    # A phone, in Paris: the page should show Paris times next to New York's.
    page = new_page(viewport=PHONE, timezone_id="Europe/Paris")
    page.goto(browser_site.url("musicschool", "/book/"))
    # A first visit from another zone reloads the page once to show the visitor's times; a
    # person reads the page before clicking, so the click comes after that reload.
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_label("First name").fill("Clara")
    page.get_by_label("Last name").fill("Wieck")
    page.get_by_label("Email").fill(student_email)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    # The address is proven by the link mailed to it, where the password is chosen.
    mailbox.wait_for(1)
    page.goto(link_in(mailbox.to(student_email)[-1]))
    page.get_by_label("New password").fill("a good password")
    page.get_by_label("Repeat the password").fill("a good password")
    page.get_by_role("button", name="Set my password and sign in").click()

    expect(page.get_by_role("heading", name=re.compile("Book a lesson"))).to_be_visible()
    page.locator('[data-type] >> text="Piano lesson (30 min)"').locator(
        "xpath=ancestor::div[@data-type]"
    ).get_by_role("link", name="Choose").click()
    page.get_by_label("Instructor").select_option(label="Clara Schumann")
    page.get_by_label("Where").select_option(label="Online")
    page.get_by_role("button", name="See free times").click()

    # Two weeks ahead (well before the cancellation cutoff); the page's script swaps
    # the week in place and keeps the address in step.
    for _ in range(2):
        shown = page.locator(".weeknav strong").inner_text()
        page.get_by_role("link", name=re.compile("Next week")).click()
        expect(page.locator(".weeknav strong")).not_to_have_text(shown)
    expect(page).to_have_url(re.compile(r"week=\d{4}-\d{2}-\d{2}"))
    slot = page.locator("a.slot").first
    expect(slot).to_be_visible()
    expect(slot).to_contain_text("your time")
    slot.click()

    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    page.get_by_label("Notes for the instructor (optional)").fill("First lesson!")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("[data-confirmed]")).to_contain_text("You're booked")

    page.get_by_role("link", name="My bookings").first.click()
    upcoming = page.locator("[data-upcoming] tr[data-booking]")
    expect(upcoming).to_have_count(1)
    expect(upcoming).to_contain_text("Piano lesson (30 min)")
    upcoming.get_by_role("link").click()

    page.get_by_role("button", name="Cancel booking").click()
    expect(page.locator("[data-status]").first).to_have_attribute("data-status", "cancelled")
    page.get_by_role("link", name="My bookings").first.click()
    expect(page.locator("[data-upcoming] tr[data-booking]")).to_have_count(0)
    expect(page.locator("[data-past]")).to_contain_text("Cancelled")

    owner.expire_all()
    seats = owner.execute(
        sa.select(BookingAttendee.status, BookingAttendee.notes)
        .join(Membership, Membership.id == BookingAttendee.student_id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == student_email)
    ).all()
    assert [tuple(s) for s in seats] == [("cancelled", "First lesson!")]
    outbox.send()
    subjects = [m["Subject"] for m in mailbox.wait_for(5) if student_email in m["X-Envelope-To"]]
    assert any("Booking confirmed" in s for s in subjects)
    assert any("Booking cancelled" in s for s in subjects)
