"""A school admin makes the school's pages their own, in a real browser (Debian's chromium,
CSRF on): 24-hour times, a date's hours picked on the small calendar, a logo and a colour."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.models import HoursOverride
from tests.booking.test_school_look import png
from tests.conftest import sign_in

pytestmark = pytest.mark.browser

GRACE = "grace@musicschool.demo"
PIANO_30 = "Piano lesson (30 min)"


@pytest.fixture
def admin_page(browser_site, new_page):
    page = new_page(locale="en-US")  # a US browser: its own time boxes would be 12-hour
    sign_in(page, browser_site, "musicschool", GRACE)
    return page


def test_switching_to_24_hours_changes_the_hours_editor_and_the_booking_page(
    admin_page, browser_site, new_page, music, org_ids, free_slots, restore_music
):
    from playwright.sync_api import expect

    page = admin_page
    slot = free_slots(music, PIANO_30, days_ahead=7, instructor="Clara", mode="online")[0]
    clara_monday = f"/availability/week/{music.people['Clara']}"
    page.goto(browser_site.url("musicschool", clara_monday))
    expect(page.locator("#d0-0-start")).to_have_value("2:00 PM")  # New York: 12-hour

    page.goto(browser_site.url("musicschool", f"/schoolsettingsview/edit/{org_ids['musicschool']}"))
    page.get_by_label("Times shown as").select_option(label="24-hour (14:30)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert")).to_contain_text("School settings saved.")
    music.time_format = "24h"

    page.goto(browser_site.url("musicschool", clara_monday))
    expect(page.locator("#d0-0-start")).to_have_value("14:00")
    expect(page.locator("#d0-0-start")).to_have_attribute("placeholder", "e.g. 14:00")

    student = new_page()
    week = music.local(slot.start).date().isoformat()
    student.goto(
        browser_site.url(
            "musicschool",
            f"/book/{music.types[PIANO_30]}/times?week={week}&mode=online"
            f"&instructor={music.people['Clara']}",
        )
    )
    button = student.locator(f'a.slot[data-start="{slot.start.isoformat()}"]')
    expect(button).to_contain_text(music.clock(slot.start))
    assert re.fullmatch(r"\d\d:\d\d", music.clock(slot.start)), "24-hour, no AM/PM"


def test_admin_clicks_a_date_on_the_small_calendar_and_gives_it_other_hours(
    admin_page, browser_site, owner, music
):
    from playwright.sync_api import expect

    page = admin_page
    scott = music.people["Scott"]
    day = clock.now().astimezone(music.zone).date().replace(day=1) + timedelta(days=40)
    day = day.replace(day=12)  # the 12th of a month after next: always in the future
    try:
        page.goto(browser_site.url("musicschool", f"/availability/week/{scott}"))
        calendar = page.locator("[data-day-calendar]")
        today = clock.now().astimezone(music.zone).date()
        for ahead in range(1, (day.year - today.year) * 12 + day.month - today.month + 1):
            calendar.locator("[data-month-next]").click()  # the month arrow, as a person does
            shown = (today.replace(day=1) + timedelta(days=31 * ahead)).replace(day=1)
            expect(calendar.locator("[data-month]")).to_have_text(f"{shown:%B %Y}")
        calendar.locator(f'a[data-day="{day.isoformat()}"]').click()

        form = page.locator(f'[data-day-form="{day.isoformat()}"]')
        expect(form).to_contain_text(f"{day:%A %d %B %Y}")
        form.get_by_label("Range 1 start").press_sequentially("9am")
        form.get_by_label("Range 1 end").press_sequentially("1130AM")
        form.get_by_role("button", name=re.compile("^Save")).click()

        expect(page.locator(".alert-success")).to_contain_text(f"{day:%a %d %b %Y} saved.")
        marked = page.locator(f'[data-day-calendar] a[data-day="{day.isoformat()}"]')
        expect(marked).to_have_attribute("data-mark", "hours")
        expect(page.locator(f'[data-day-form="{day.isoformat()}"] #o-0-end')).to_have_value(
            "11:30 AM"
        )
        owner.expire_all()
        saved = owner.scalars(sa.select(HoursOverride).where(HoursOverride.instructor_id == scott))
        assert [(o.day, o.start_time, o.end_time) for o in saved] == [(day, time(9), time(11, 30))]
    finally:
        owner.rollback()
        owner.execute(sa.delete(HoursOverride).where(HoursOverride.instructor_id == scott))
        owner.commit()


def test_admin_uploads_a_logo_and_sees_it_on_the_navbar_in_the_school_colour(
    admin_page, browser_site, new_page, org_ids, restore_music
):
    from playwright.sync_api import expect

    page = admin_page
    page.goto(browser_site.url("musicschool", f"/schoolsettingsview/edit/{org_ids['musicschool']}"))
    page.get_by_label("Navbar colour").fill("#1e3a8a")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert")).to_contain_text("School settings saved.")

    page.locator(".navbar .dropdown-toggle", has_text="School").click()  # the School menu
    page.locator(".navbar .dropdown-menu").get_by_role("link", name="Logo").click()
    page.get_by_label(re.compile("Logo")).set_input_files(
        {"name": "riverside.png", "mimeType": "image/png", "buffer": png(40, 20)}
    )
    page.get_by_role("button", name="Upload logo").click()
    expect(page.locator(".alert")).to_contain_text("Logo saved")

    for visitor in (page, new_page()):  # the admin, and someone not signed in
        visitor.goto(browser_site.url("musicschool", "/book/"))
        logo = visitor.locator("nav [data-school-logo]")
        expect(logo).to_be_visible()
        loaded = logo.evaluate("img => img.complete && img.naturalWidth")
        assert loaded == 40, f"the logo loads (CSP allows it): naturalWidth {loaded}"
        brand = visitor.locator("nav [data-school-brand]")
        expect(brand).to_contain_text("Riverside Music School")
        bar = visitor.locator("nav.school-navbar")
        assert bar.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(30, 58, 138)"
        assert brand.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
    page.goto(browser_site.url("musicschool", "/"))
    expect(page.locator(".navbar [data-school-logo]")).to_be_visible()
    page.locator(".navbar .dropdown-toggle .fa-user").click()  # the admin's own menu, on white
    profile = page.locator(".navbar .dropdown-menu").get_by_role("link", name="Profile")
    expect(profile).to_be_visible()
    shown = profile.evaluate("e => getComputedStyle(e).color")
    assert shown != "rgb(255, 255, 255)", f"the menu's links stay readable on white, got {shown}"
