"""What an instructor does in the teaching portal, in a real browser (Debian's chromium,
CSRF on): add weekly hours and time off by typing times and dates as a person does. Each
checks what the instructor sees afterwards and what the database holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.models import Membership, TimeOff, User, WorkingHours
from tests.conftest import sign_in

pytestmark = pytest.mark.browser

CLARA = "clara@musicschool.demo"


@pytest.fixture
def clara_id(owner_db) -> Iterator[int]:
    """Clara's membership id; whatever hours and time off the test adds are removed after."""
    clara = owner_db.scalar(
        sa.select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == CLARA)
    )
    hours = set(owner_db.scalars(sa.select(WorkingHours.id)))
    away = set(owner_db.scalars(sa.select(TimeOff.id)))
    yield clara
    owner_db.rollback()
    owner_db.execute(sa.delete(WorkingHours).where(WorkingHours.id.not_in(hours or {0})))
    owner_db.execute(sa.delete(TimeOff).where(TimeOff.id.not_in(away or {0})))
    owner_db.commit()


def open_schedule(page, site) -> None:
    sign_in(page, site, "musicschool", CLARA)
    page.goto(site.url("musicschool", "/teaching/"))
    page.get_by_role("link", name="My schedule").first.click()
    expect(page.get_by_role("heading", name="My schedule at", exact=False)).to_be_visible()


def type_into(page, field, keys: str) -> None:
    """Click a date or time input and type its keys, as a person does (en-US order)."""
    field.click()
    page.keyboard.type(keys)


def test_instructor_adds_sunday_hours(browser_site, new_page, owner_db, clara_id):
    page = new_page(locale="en-US")
    open_schedule(page, browser_site)

    form = page.locator("form", has=page.get_by_role("button", name="Add weekly hours"))
    form.get_by_label("Weekday").select_option(label="Sunday")
    type_into(page, form.get_by_label("Start"), "1000AM")
    type_into(page, form.get_by_label("End"), "1230PM")
    form.get_by_label("Ways of teaching").select_option(["online"])
    form.get_by_role("button", name="Add weekly hours").click()

    expect(page.locator(".alert")).to_contain_text("Saved")
    expect(page.locator("[data-hours]")).to_contain_text("Sunday")
    owner_db.expire_all()
    added = owner_db.execute(
        sa.select(
            WorkingHours.start_time, WorkingHours.end_time, WorkingHours.location_modes
        ).where(WorkingHours.instructor_id == clara_id, WorkingHours.weekday == 6)
    ).all()
    assert [tuple(row) for row in added] == [(time(10, 0), time(12, 30), ["online"])]


def test_instructor_adds_time_off_by_typing_dates(
    browser_site, new_page, owner_db, clara_id, clock
):
    first = clock.now().date() + timedelta(days=40)
    last = first + timedelta(days=2)
    page = new_page(locale="en-US")
    open_schedule(page, browser_site)

    form = page.locator("form", has=page.get_by_role("button", name="Add time off"))
    type_into(page, form.get_by_label("First day"), first.strftime("%m%d%Y"))
    type_into(page, form.get_by_label("Last day"), last.strftime("%m%d%Y"))
    form.get_by_label("Reason (optional)").fill("Recital tour")
    form.get_by_role("button", name="Add time off").click()

    expect(page.locator(".alert")).to_contain_text("Saved")
    expect(page.locator("[data-time-off]")).to_contain_text("Recital tour")
    owner_db.expire_all()
    added = owner_db.execute(
        sa.select(TimeOff.first_day, TimeOff.last_day).where(
            TimeOff.instructor_id == clara_id, TimeOff.reason == "Recital tour"
        )
    ).all()
    assert [tuple(row) for row in added] == [(first, last)]


def test_instructor_sees_a_refused_time_off_with_what_they_typed(
    browser_site, new_page, owner_db, clara_id, clock
):
    first = clock.now().date() + timedelta(days=40)
    page = new_page(locale="en-US")
    open_schedule(page, browser_site)

    form = page.locator("form", has=page.get_by_role("button", name="Add time off"))
    type_into(page, form.get_by_label("First day"), first.strftime("%m%d%Y"))
    type_into(page, form.get_by_label("Last day"), (first - timedelta(days=3)).strftime("%m%d%Y"))
    form.get_by_label("Reason (optional)").fill("Backwards")
    form.get_by_role("button", name="Add time off").click()

    form = page.locator("form", has=page.get_by_role("button", name="Add time off"))
    expect(page.locator(".alert-danger, .text-danger").first).to_be_visible()
    expect(form.get_by_label("Reason (optional)")).to_have_value("Backwards")
    owner_db.expire_all()
    assert owner_db.scalar(sa.select(TimeOff.id).where(TimeOff.reason == "Backwards")) is None


def test_instructor_sets_their_meeting_link(browser_site, new_page, owner_db, clara_id):
    before = owner_db.get(Membership, clara_id).meeting_link
    page = new_page()
    open_schedule(page, browser_site)

    form = page.locator("[data-meeting-link]")
    form.get_by_label("Your meeting link for online lessons").fill("https://meet.example.com/clara")
    form.get_by_role("button", name="Save link").click()

    expect(page.locator(".alert")).to_contain_text("Saved")
    expect(page.get_by_label("Your meeting link for online lessons")).to_have_value(
        "https://meet.example.com/clara"
    )
    owner_db.expire_all()
    clara = owner_db.get(Membership, clara_id)
    assert clara.meeting_link == "https://meet.example.com/clara"
    clara.meeting_link = before
    owner_db.commit()
