"""What a student does on the booking pages, in a real browser (Debian's chromium through
Playwright, CSRF on): book a group class, book weekly lessons around a clash, reschedule (on
a desktop and on a phone), cancel one lesson and then "this and all later". Each checks what
the student sees and what the database holds. (Sign-up, booking and cancelling one private
lesson: test_browser.py.)"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.models import Booking, BookingAttendee, TimeOff
from tests.booking.conftest import confirm_url
from tests.conftest import DESKTOP, PHONE, sign_in

pytestmark = pytest.mark.browser

ADA = "ada@musicschool.demo"
PIANO_30 = "Piano lesson (30 min)"
PIANO_45 = "Piano lesson (45 min)"
FAR = 28  # days ahead: past the demo's lessons, before the cancellation cutoffs


def choose_lesson(page, site, school: str, type_name: str) -> None:
    """Step 1: the list of lessons, then the card's Choose button."""
    page.goto(site.url(school, "/book/"))
    page.locator("[data-type]").filter(has_text=type_name).get_by_role(
        "link", name="Choose"
    ).click()


def week_showing(page, start_iso: str, weeks: int = 12):
    """Click "Next week" until the time ``start_iso`` is on the page; returns its button."""
    slot = page.locator(f'a.slot[data-start="{start_iso}"]')
    for _ in range(weeks):
        if slot.count():
            return slot
        shown = page.locator(".weeknav strong").inner_text()
        page.get_by_role("link", name=re.compile("Next week")).click()
        expect(page.locator(".weeknav strong")).not_to_have_text(shown)
    raise AssertionError(f"{start_iso} was not offered within {weeks} weeks")


def seats_of(owner, student_id: int, since) -> list[tuple[str, Booking]]:
    owner.expire_all()
    return [
        (attendee.status, booking)
        for attendee, booking in owner.execute(
            sa.select(BookingAttendee, Booking)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .where(BookingAttendee.student_id == student_id, Booking.starts_at >= since)
            .order_by(Booking.starts_at)
        ).all()
    ]


def test_student_books_a_place_in_a_group_class(browser_site, new_page, yoga, free_slots, owner):
    drop_in = "Drop-in yoga class"
    slot = next(s for s in free_slots(yoga, drop_in, days_ahead=FAR, days=14) if s.seats_left > 1)
    page = new_page(timezone_id="Europe/London")
    sign_in(page, browser_site, "yogastudio", "jane@yogastudio.demo")

    choose_lesson(page, browser_site, "yogastudio", drop_in)
    page.get_by_role("button", name="See free times").click()
    place = week_showing(page, slot.start.isoformat())
    expect(place).to_contain_text("places left")
    place.click()
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.locator("[data-confirmed]")).to_contain_text("You're booked")
    expect(page.locator("dl")).to_contain_text(re.compile(r"\d+ of \d+ places taken"))
    [(status, booking)] = [
        (status, b)
        for status, b in seats_of(owner, yoga.people["Jane"], slot.start)
        if b.starts_at == slot.start
    ]
    assert status == "confirmed" and booking.capacity > 1
    assert booking.appointment_type_id == yoga.types[drop_in]


def test_student_books_weekly_lessons_and_leaves_out_the_week_that_clashes(
    browser_site, new_page, music, weekly_free_slot, owner
):
    slot, weeks = weekly_free_slot(music, PIANO_45, 4, instructor="Clara", mode="online")
    away = music.local(weeks[2]).date()
    owner.add(
        TimeOff(
            organization_id=music.id,
            instructor_id=music.people["Clara"],
            first_day=away,
            last_day=away,
            reason="Exam board",
        )
    )
    owner.commit()
    page = new_page()
    sign_in(page, browser_site, "musicschool", ADA)

    choose_lesson(page, browser_site, "musicschool", PIANO_45)
    page.get_by_label("Instructor").select_option(label="Clara Schumann")
    page.get_by_label("Where").select_option(label="Online")
    page.get_by_role("button", name="See free times").click()
    week_showing(page, slot.start.isoformat()).click()
    page.get_by_label("Repeat").select_option(label="Every week, for a number of weeks")
    page.get_by_label("Number of weeks").fill("4")
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_role("heading", name="Your weekly lessons")).to_be_visible()
    expect(page.locator('[data-bookable="yes"]')).to_have_count(3)
    expect(page.locator('[data-bookable="no"]')).to_contain_text("away")
    page.get_by_role("button", name="Book the ticked weeks").click()

    expect(page.locator("[data-confirmed]")).to_contain_text("3 weekly lessons")
    booked = [b.starts_at for status, b in seats_of(owner, music.people["Ada"], slot.start)]
    assert booked == [weeks[0], weeks[1], weeks[3]]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_student_reschedules_a_lesson(
    browser_site, new_page, visit, music, free_slots, owner, viewport
):
    slots = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    booked = visit("musicschool", ADA).post(confirm_url(music, PIANO_30, slots[0]))
    attendee_id = int(booked.headers["Location"].split("/bookings/")[1].split("?")[0])
    page = new_page(viewport=viewport)
    sign_in(page, browser_site, "musicschool", ADA)

    page.goto(browser_site.url("musicschool", "/bookings/"))
    page.locator(f'tr[data-booking="{attendee_id}"]').get_by_role("link").click()
    page.get_by_role("link", name="Reschedule").click()
    expect(page.get_by_role("heading", name="Move your lesson")).to_be_visible()
    # It opens on the lesson's own week; the current time is not offered as a new one.
    expect(page.locator(f'a.slot[data-start="{slots[0].start.isoformat()}"]')).to_have_count(0)
    target = page.locator("a.slot").nth(2)
    new_start = target.get_attribute("data-start")
    target.click()
    page.get_by_role("button", name="Move my lesson").click()

    expect(page.locator(".alert")).to_contain_text("Your lesson has been moved")
    expect(page.locator("[data-history]")).to_contain_text("→")
    owner.expire_all()
    attendee = owner.get(BookingAttendee, attendee_id)
    booking = owner.get(Booking, attendee.booking_id)
    assert (attendee.status, booking.starts_at.isoformat()) == ("confirmed", new_start)


def test_student_cancels_one_weekly_lesson_then_this_and_all_later(
    browser_site, new_page, visit, music, weekly_free_slot, owner
):
    slot, weeks = weekly_free_slot(music, PIANO_45, 4, instructor="Clara", mode="online")
    ada = visit("musicschool", ADA)
    ada.post(
        confirm_url(music, PIANO_45, slot),
        data={
            "repeat": "weeks",
            "weeks": "4",
            "step": "book-series",
            "accepted": [w.isoformat() for w in weeks],
        },
    )
    first, second = (
        owner.scalar(
            sa.select(BookingAttendee.id)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .where(BookingAttendee.student_id == music.people["Ada"], Booking.starts_at == start)
        )
        for start in weeks[:2]
    )
    page = new_page(viewport=PHONE)
    sign_in(page, browser_site, "musicschool", ADA)

    page.goto(browser_site.url("musicschool", "/bookings/"))
    page.locator(f'tr[data-booking="{first}"]').get_by_role("link").click()
    page.get_by_placeholder("Reason (optional)").fill("Away that week")
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.locator("[data-status]").first).to_have_attribute("data-status", "cancelled")
    after_one = [status for status, _ in seats_of(owner, music.people["Ada"], slot.start)]

    page.get_by_role("link", name="My bookings").first.click()
    page.locator(f'tr[data-booking="{second}"]').get_by_role("link").click()
    page.locator("select[name=scope]").select_option(label="This and all later lessons")
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.locator(".alert")).to_contain_text("Cancelled 3 lesson(s)")

    assert after_one == ["cancelled", "confirmed", "confirmed", "confirmed"]
    assert [status for status, _ in seats_of(owner, music.people["Ada"], slot.start)] == [
        "cancelled"
    ] * 4


def test_student_types_a_city_to_see_times_in_their_own_zone(
    browser_site, new_page, music, free_slots
):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    page = new_page(timezone_id="America/New_York")  # same zone as the school: no second one
    sign_in(page, browser_site, "musicschool", ADA)

    choose_lesson(page, browser_site, "musicschool", PIANO_30)
    page.get_by_label("Instructor").select_option(label="Clara Schumann")
    page.get_by_label("Where").select_option(label="Online")
    page.get_by_role("button", name="See free times").click()
    page.get_by_label("Also show times in").fill("Paris")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_label("Also show times in")).to_have_value("Europe/Paris")
    paris = music.clock(slot.start.astimezone(ZoneInfo("Europe/Paris")).time())
    expect(week_showing(page, slot.start.isoformat())).to_contain_text(f"{paris} your time")
