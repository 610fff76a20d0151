"""A school admin adds time off over three booked lessons in a real browser (chromium via
Playwright, CSRF on): the lessons are listed, one is cancelled with a message, one moved to a
free time, one kept; the database and the students' e-mails agree."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.models import Booking, BookingAttendee, TimeOff
from tests.booking.test_disruptions import GRACE, lessons_on_one_day
from tests.conftest import body, sign_in

pytestmark = pytest.mark.browser


def test_admin_adds_time_off_over_booked_lessons_and_decides_each(
    app, browser_site, new_page, music, free_slots, owner, make_students, mailbox
):
    from playwright.sync_api import expect

    students = make_students(music, 3, prefix="away")
    day, (cancelled, moved, kept) = lessons_on_one_day(app, music, free_slots, students)
    mailbox.clear()
    page = new_page()
    sign_in(page, browser_site, "musicschool", GRACE)

    page.goto(browser_site.url("musicschool", "/timeoffview/add"))
    page.locator("#instructor").locator("xpath=following-sibling::span[1]").click()
    page.locator(".select2-results__option", has_text="Clara Schumann").click()
    page.get_by_label("First day").fill(day.isoformat())
    page.get_by_label("Last day").fill(day.isoformat())
    page.get_by_label("Reason").fill("Ill")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("3 booked lessons hit by this change")).to_be_visible()
    rows = page.locator("[data-lesson]")
    expect(rows).to_have_count(3)
    expect(page.get_by_label("First day")).to_have_value(day.isoformat())

    def choice(name: str):
        return page.get_by_label(re.compile(f"What happens to {name}"))

    choice("Racer0 Test").select_option(label="Cancel it and tell the student")
    move_labels = [
        text
        for text in choice("Racer1 Test").locator("option").all_text_contents()
        if text.startswith("Move to")
    ]
    choice("Racer1 Test").select_option(label=move_labels[0])
    choice("Racer2 Test").select_option(label="Keep it anyway")
    page.get_by_label(re.compile("Message to the students")).fill("Clara is ill, sorry!")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text(re.compile("1 lesson cancelled"))).to_be_visible()
    expect(page.get_by_text(re.compile("1 lesson moved"))).to_be_visible()
    owner.expire_all()
    assert (
        owner.scalar(
            sa.select(sa.func.count(TimeOff.id)).where(
                TimeOff.instructor_id == music.people["Clara"], TimeOff.first_day == day
            )
        )
        == 1
    )
    statuses = {i: owner.get(BookingAttendee, i).status for i in (cancelled, moved, kept)}
    assert statuses == {cancelled: "cancelled", moved: "confirmed", kept: "confirmed"}
    new_start = owner.get(Booking, owner.get(BookingAttendee, moved).booking_id).starts_at
    assert music.clock(new_start) in move_labels[0]
    mailbox.wait_for(4)
    assert "Clara is ill, sorry!" in body(mailbox.to(students[0])[0])
    assert mailbox.to(students[1]), "the moved student is told"
    assert not mailbox.to(students[2])
