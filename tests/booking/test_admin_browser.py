"""A school admin manages availability and bookings in a real browser (Debian's chromium via
Playwright, CSRF on): weekly hours, a date override, time off and a closure — dates typed the
way a person types them (12/08/2026 in a US browser) and pasted — then books a lesson on a
student's behalf and cancels it. Each checks what the admin reads and what the database holds.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.models import (
    Booking,
    BookingAttendee,
    HoursOverride,
    SchoolClosure,
    TimeOff,
    WorkingHours,
)
from tests.admin.test_browser import button_link, choose, field, flash, row, save, unchoose
from tests.conftest import sign_in

pytestmark = pytest.mark.browser

GRACE = "grace@musicschool.demo"


@pytest.fixture
def admin_page(browser_site, new_page):
    # A US browser: dates read and typed month first, times with AM/PM.
    page = new_page(locale="en-US", permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, browser_site, "musicschool", GRACE)
    return page


def type_date(page, label: str, day: date) -> None:
    """Click the date box and type it as a US reader writes it: 12/08/2026."""
    box = field(page, label)
    box.click(position={"x": 12, "y": 12})  # on the month, where a person starts
    page.keyboard.type(f"{day:%m/%d/%Y}")


def paste_date(page, label: str, text: str, scratch: str) -> None:
    """Copy a date written elsewhere (typed into the ``scratch`` text box and cut from it,
    as from an e-mail) and paste it into the date box."""
    source = field(page, scratch)
    source.fill(text)
    source.select_text()
    page.keyboard.press("Control+X")
    field(page, label).click(position={"x": 12, "y": 12})
    page.keyboard.press("Control+V")


def type_time(page, label: str, value: str) -> None:
    """Type a time as a New York admin writes it: 15:00 is typed "3:00 pm"."""
    hours, minutes = (int(part) for part in value.split(":"))
    box = field(page, label)
    box.fill("")
    box.press_sequentially(f"{(hours % 12) or 12}:{minutes:02d} {'pm' if hours >= 12 else 'am'}")


def school_today(music) -> date:
    return clock.now().astimezone(music.zone).date()


def shown(day: date) -> str:
    return f"{day:%a %d %b %Y}"


# --- weekly hours ------------------------------------------------------------------------------


def test_admin_adds_refuses_an_overlap_edits_and_removes_weekly_hours(
    admin_page, browser_site, owner, music
):
    from playwright.sync_api import expect

    page = admin_page
    nadia = music.people["Nadia"]
    saturdays = sa.select(WorkingHours).where(
        WorkingHours.instructor_id == nadia, WorkingHours.weekday == 5
    )

    def new_hours(weekday: str, start: str, end: str):
        page.goto(browser_site.url("musicschool", "/workinghoursview/list/"))
        button_link(page, "Add").click()
        choose(page, "Instructor", "Nadia Boulanger")
        field(page, "Weekday").select_option(label=weekday)
        type_time(page, "Start", start)
        type_time(page, "End", end)
        unchoose(page, "Ways of teaching", "In person")
        unchoose(page, "Ways of teaching", "At the student's location")

    new_hours("Saturday", "15:00", "17:00")
    save(page)
    expect(flash(page)).to_contain_text("Working hours added.")
    listed = row(page, "Nadia Boulanger").filter(has_text="Saturday")
    expect(listed).to_contain_text("3:00 PM–5:00 PM")  # the school's 12-hour times
    expect(listed).to_contain_text("Online")
    owner.expire_all()
    added = owner.scalars(saturdays).one()
    assert (added.start_time, added.end_time, added.location_modes) == (
        time(15),
        time(17),
        ["online"],
    )

    # Monday 12:00–14:00 overlaps her Monday 09:00–13:00: the form comes back as typed.
    new_hours("Monday", "12:00", "14:00")
    save(page)
    expect(
        page.get_by_text("Nadia Boulanger, Monday 9:00 AM–1:00 PM overlaps 12:00 PM–2:00 PM")
    ).to_be_visible()
    expect(field(page, "Weekday")).to_have_value("0")
    expect(field(page, "Start")).to_have_value("12:00 pm")
    expect(field(page, "End")).to_have_value("2:00 pm")
    owner.expire_all()
    mondays = sa.select(sa.func.count()).where(
        WorkingHours.instructor_id == nadia, WorkingHours.weekday == 0
    )
    assert owner.scalar(mondays) == 1

    page.goto(browser_site.url("musicschool", "/workinghoursview/list/"))
    button_link(listed, "Edit").click()
    type_time(page, "End", "18:30")
    save(page)
    expect(flash(page)).to_contain_text("Working hours saved.")
    expect(listed).to_contain_text("3:00 PM–6:30 PM")
    owner.expire_all()
    assert owner.scalars(saturdays).one().end_time == time(18, 30)

    button_link(listed, "Delete").click()
    page.locator("#modal-confirm").get_by_role("link", name="OK").click()
    expect(flash(page)).to_contain_text("Working hours deleted.")
    expect(listed).to_have_count(0)
    owner.expire_all()
    assert owner.scalars(saturdays).all() == []


# --- a date override, time off, a closure ---------------------------------------------


def test_admin_gives_an_instructor_different_hours_on_a_typed_date(
    admin_page, browser_site, owner, music
):
    from playwright.sync_api import expect

    page = admin_page
    day = school_today(music) + timedelta(days=45)

    page.goto(browser_site.url("musicschool", "/hoursoverrideview/list/"))
    button_link(page, "Add").click()
    choose(page, "Instructor", "Scott Joplin")
    type_date(page, "Date", day)
    expect(field(page, "Date")).to_have_value(day.isoformat())
    type_time(page, "Start", "09:00")
    type_time(page, "End", "11:30")
    unchoose(page, "Ways of teaching", "At the student's location")
    save(page)

    expect(flash(page)).to_contain_text("Date override added.")
    listed = row(page, shown(day))
    expect(listed).to_contain_text("Scott Joplin")
    expect(listed).to_contain_text("9:00 AM–11:30 AM")
    owner.expire_all()
    saved = owner.scalars(
        sa.select(HoursOverride).where(HoursOverride.instructor_id == music.people["Scott"])
    ).all()
    assert [(o.day, o.start_time, o.end_time) for o in saved] == [(day, time(9), time(11, 30))]

    # Moved a day later, typed again over the old date.
    button_link(listed, "Edit").click()
    type_date(page, "Date", day + timedelta(days=1))
    save(page)
    expect(flash(page)).to_contain_text("Date override saved.")
    expect(row(page, shown(day + timedelta(days=1)))).to_contain_text("Scott Joplin")
    owner.expire_all()
    assert owner.scalar(
        sa.select(HoursOverride.day).where(HoursOverride.instructor_id == music.people["Scott"])
    ) == day + timedelta(days=1)


def test_admin_enters_time_off_with_a_typed_and_a_pasted_date(
    admin_page, browser_site, owner, music
):
    from playwright.sync_api import expect

    page = admin_page
    first = school_today(music) + timedelta(days=50)
    last = first + timedelta(days=3)

    page.goto(browser_site.url("musicschool", "/timeoffview/list/"))
    button_link(page, "Add").click()
    choose(page, "Instructor", "Clara Schumann")
    type_date(page, "First day", first)
    paste_date(page, "Last day", f"{last:%m/%d/%Y}", scratch="Reason")
    expect(field(page, "Last day")).to_have_value(last.isoformat())
    field(page, "Reason").fill("Masterclass")
    save(page)

    expect(flash(page)).to_contain_text("Time off added.")
    expect(row(page, "Masterclass")).to_contain_text(f"{shown(first)} – {shown(last)}")
    owner.expire_all()
    away = owner.scalars(sa.select(TimeOff).where(TimeOff.reason == "Masterclass")).one()
    assert (away.instructor_id, away.first_day, away.last_day) == (
        music.people["Clara"],
        first,
        last,
    )


def test_admin_closes_the_school_and_a_backwards_range_comes_back_as_typed(
    admin_page, browser_site, owner, music
):
    from playwright.sync_api import expect

    page = admin_page
    first = school_today(music) + timedelta(days=60)
    last = first + timedelta(days=1)

    page.goto(browser_site.url("musicschool", "/schoolclosureview/list/"))
    button_link(page, "Add").click()
    # An ISO date pasted from a spreadsheet, then the last day typed before it by mistake.
    paste_date(page, "First day", last.isoformat(), scratch="Name")
    type_date(page, "Last day", first)
    field(page, "Name").fill("Spring concert")
    save(page)

    expect(page.get_by_text("The last day is before the first day.")).to_be_visible()
    expect(field(page, "Name")).to_have_value("Spring concert")
    expect(field(page, "First day")).to_have_value(last.isoformat())
    expect(field(page, "Last day")).to_have_value(first.isoformat())
    owner.expire_all()
    named = sa.select(SchoolClosure).where(SchoolClosure.name == "Spring concert")
    assert owner.scalars(named).all() == []

    type_date(page, "First day", first)
    type_date(page, "Last day", last)
    save(page)

    expect(flash(page)).to_contain_text("School closure added.")
    expect(row(page, "Spring concert")).to_contain_text(f"{shown(first)} – {shown(last)}")
    owner.expire_all()
    closure = owner.scalars(named).one()
    assert (closure.first_day, closure.last_day) == (first, last)


# --- booking on a student's behalf, and cancelling ----------------------------------------------


def test_admin_books_a_lesson_for_a_student_and_cancels_it(admin_page, browser_site, owner, music):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(browser_site.url("musicschool", "/"))
    page.get_by_role("link", name=re.compile("Bookings")).first.click()
    page.get_by_role("link", name=re.compile("Book for a student")).first.click()

    page.locator('[data-type] >> text="Piano lesson (30 min)"').locator(
        "xpath=ancestor::div[@data-type]"
    ).get_by_role("link", name="Choose").click()
    page.get_by_label("Instructor").select_option(label="Clara Schumann")
    page.get_by_label("Where").select_option(label="Online")
    page.get_by_role("button", name="See free times").click()
    for _ in range(3):  # well past the notice period and the cancellation cutoff
        shown_week = page.locator(".weeknav strong").inner_text()
        page.get_by_role("link", name=re.compile("Next week")).click()
        expect(page.locator(".weeknav strong")).not_to_have_text(shown_week)
    page.locator("a.slot").first.click()

    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    page.get_by_label("Student").select_option(label="Alan Turing <alan@musicschool.demo>")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("[data-confirmed]")).to_be_visible()

    owner.expire_all()
    alan, grace = music.people["Alan"], music.people["Grace"]
    seat = owner.scalars(
        sa.select(BookingAttendee)
        .where(BookingAttendee.student_id == alan)
        .order_by(BookingAttendee.id.desc())
    ).first()
    booking = owner.get(Booking, seat.booking_id)
    assert (seat.status, booking.instructor_id, booking.created_by_id) == (
        "confirmed",
        music.people["Clara"],
        grace,
    )

    # Cancel it from the school's list of bookings (the admin menu, from the home page).
    page.goto(browser_site.url("musicschool", "/"))
    page.get_by_role("link", name=re.compile("Bookings")).first.click()
    page.get_by_role("link", name=re.compile("All bookings")).first.click()
    starts = music.local(booking.starts_at)
    listed = row(page, music.when(starts, "%a %d %b %Y")).filter(has_text="Alan Turing")
    expect(listed).to_contain_text("Confirmed")
    listed.get_by_role("link", name="Alan Turing").click()
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.locator("[data-status]").first).to_have_attribute("data-status", "cancelled")

    owner.expire_all()
    assert owner.get(BookingAttendee, seat.id).status == "cancelled"
    assert owner.get(Booking, booking.id).status == "cancelled"
    page.goto(browser_site.url("musicschool", "/bookingview/list/"))
    expect(
        row(page, music.when(starts, "%a %d %b %Y")).filter(has_text="Alan Turing")
    ).to_contain_text("Cancelled")
