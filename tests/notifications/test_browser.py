"""In a real browser (Debian's chromium, CSRF on): a student turns lesson reminders off on
My bookings; a school admin opens a booking e-mail from the local outbox in the panel."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Membership
from app.notifications import queue_email
from app.notifications.delivery import deliver
from app.tenancy import privileged, tenant
from tests.conftest import PHONE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_notifications")]


def test_student_turns_lesson_reminders_off_on_my_bookings(browser_site, new_page, owner, music):
    from playwright.sync_api import expect

    page = new_page(viewport=PHONE)
    sign_in(page, browser_site, "musicschool", "ada@musicschool.demo")
    page.goto(browser_site.url("musicschool", "/book/"))
    page.get_by_role("link", name="My bookings").first.click()
    choice = page.get_by_label("E-mail me a reminder before each lesson")
    expect(choice).to_be_checked()

    choice.uncheck()
    page.locator("[data-reminders]").get_by_role("button", name="Save").click()

    expect(page.get_by_text("Lesson reminders are off")).to_be_visible()
    expect(page.get_by_label("E-mail me a reminder before each lesson")).not_to_be_checked()
    owner.expire_all()
    assert (
        owner.scalar(
            sa.select(Membership.lesson_reminders).where(Membership.id == music.people["Ada"])
        )
        is False
    )


def test_school_admin_reads_a_booking_email_in_the_local_outbox(
    app, browser_site, new_page, org_ids, monkeypatch
):
    from playwright.sync_api import expect

    monkeypatch.setitem(app.config, "MAIL_BACKEND", "outbox")
    with app.app_context(), tenant(org_ids["musicschool"]):
        notification = queue_email(
            to="ada@musicschool.demo",
            subject="Riverside Music School – Booking confirmed: Piano lesson (30 min)",
            text="Hello Ada,\n\nyour booking is confirmed.",
            html="<p>Hello Ada,</p><p data-lesson>Your booking is confirmed.</p>",
            organization_id=org_ids["musicschool"],
            kind="booked",
            calendar="BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
            calendar_method="REQUEST",
        )
        db.session.commit()
        notification_id = notification.id
        db.session.remove()
    with app.app_context(), privileged():
        deliver([notification_id])
        db.session.remove()
    page = new_page()
    sign_in(page, browser_site, "musicschool", "grace@musicschool.demo")

    page.get_by_role("link", name=re.compile(r"^\s*School\s*$")).click()
    page.get_by_role("link", name="E-mails").click()
    row = page.locator("tr", has_text="Booking confirmed: Piano lesson (30 min)")
    expect(row).to_contain_text("Local outbox")
    row.locator(f'a[href*="/show/{notification_id}"]').first.click()

    preview = page.frame_locator("[data-email-preview] iframe")
    expect(preview.locator("[data-lesson]")).to_have_text("Your booking is confirmed.")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Invitation")).click()
    assert download.value.suggested_filename == "invite-request.ics"
