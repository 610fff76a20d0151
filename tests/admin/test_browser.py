"""A school admin sets up the school in a real browser (Debian's chromium via Playwright, CSRF
on): adds, edits and deactivates each catalogue item, clicking and typing as a person does,
and what the admin reads afterwards and what the database holds are both checked."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from app.models import (
    AppointmentType,
    InstructorQualification,
    Location,
    Membership,
    User,
)
from tests.conftest import sign_in

pytestmark = pytest.mark.browser

GRACE = "grace@musicschool.demo"


# --- how a person works a FAB form -----------------------------------------------------------


def field(page, label: str):
    """The input a form's label names ("Name" is not "First name"; FAB adds a red *)."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def choose(page, label: str, option: str) -> None:
    """Pick from a searchable (Select2) list: click it, type a few letters, press Enter."""
    select = field(page, label)
    from playwright.sync_api import expect

    select.locator("xpath=following-sibling::span[contains(@class, 'select2')][1]").click()
    # The list focuses its search box when it opens (panel-forms.js); type once it has.
    expect(page.locator(".select2-container--open .select2-search__field").last).to_be_focused()
    page.keyboard.type(option)
    page.locator(".select2-results__option--highlighted", has_text=option).wait_for()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")  # a multi-select stays open after a choice


def unchoose(page, label: str, option: str) -> None:
    """Remove a chosen item from a multi-select (its little ×)."""
    container = field(page, label).locator(
        "xpath=following-sibling::span[contains(@class, 'select2')][1]"
    )
    container.locator(".select2-selection__choice", has_text=option).locator(
        ".select2-selection__choice__remove"
    ).click()
    page.keyboard.press("Escape")


def button_link(scope, name: str):
    """FAB's icon links ("Add", "Edit", "Show", "Delete"): the icon's glyph joins the name."""
    return scope.get_by_role("link", name=re.compile(rf"^\W*{name}\W*$"))


def save(page) -> None:
    page.get_by_role("button", name="Save").click()


def row(page, text: str):
    return page.locator("table tr", has_text=text)


def flash(page):
    return page.locator(".alert")


def open_panel(page, site, endpoint: str) -> None:
    page.goto(site.url("musicschool", f"/{endpoint}/list/"))


@pytest.fixture
def admin_page(browser_site, new_page):
    page = new_page(locale="en-US")
    sign_in(page, browser_site, "musicschool", GRACE)
    return page


@pytest.fixture
def owner(owner_db):
    return owner_db


@pytest.fixture
def stamp() -> str:
    return str(time.time_ns())[-8:]


# --- locations -----------------------------------------------------------------------------------


@pytest.fixture
def cleanup(owner):
    """Rows a test names here are deleted afterwards (catalogue rows are not booking rows)."""
    removals: list = []
    yield removals
    owner.rollback()
    for statement in reversed(removals):
        owner.execute(statement)
    owner.commit()


def test_admin_adds_edits_and_deactivates_a_location(
    admin_page, browser_site, owner, stamp, cleanup
):
    from playwright.sync_api import expect

    page = admin_page
    name = f"Harbour Studio {stamp}"
    cleanup.append(sa.delete(Location).where(Location.name.like(f"Harbour Studio {stamp}%")))

    open_panel(page, browser_site, "locationview")
    expect(page.get_by_role("heading", name="Locations")).to_be_visible()
    button_link(page, "Add").click()
    expect(page.get_by_role("heading", name="New location")).to_be_visible()
    field(page, "Name").fill(name)
    field(page, "Address").fill("1 Pier Road")
    save(page)

    expect(flash(page)).to_contain_text("Location added.")
    expect(row(page, name)).to_contain_text("1 Pier Road")
    expect(row(page, name)).to_contain_text("Yes")

    button_link(row(page, name), "Edit").click()
    field(page, "Address").fill("2 Pier Road")
    field(page, "Active").uncheck()
    save(page)

    expect(flash(page)).to_contain_text("Location saved.")
    expect(row(page, name)).to_contain_text("2 Pier Road")
    expect(row(page, name)).to_contain_text("No")
    owner.expire_all()
    saved = owner.scalar(sa.select(Location).where(Location.name == name))
    assert (saved.address, saved.active) == ("2 Pier Road", False)


def test_a_refused_location_comes_back_with_what_was_typed(admin_page, browser_site, owner):
    from playwright.sync_api import expect

    page = admin_page
    before = owner.scalar(sa.select(sa.func.count()).select_from(Location))
    open_panel(page, browser_site, "locationview")
    button_link(page, "Add").click()
    field(page, "Name").fill("Main Street Studio")
    field(page, "Address").fill("Somewhere else")
    save(page)

    expect(
        page.get_by_text("This school already has one named “Main Street Studio”.")
    ).to_be_visible()
    expect(field(page, "Address")).to_have_value("Somewhere else")
    assert owner.scalar(sa.select(sa.func.count()).select_from(Location)) == before


# --- appointment types ---------------------------------------------------------------------------


def test_admin_adds_edits_and_deactivates_an_appointment_type(
    admin_page, browser_site, owner, stamp, cleanup
):
    from playwright.sync_api import expect

    page = admin_page
    name = f"Cello lesson {stamp}"
    cleanup.append(sa.delete(AppointmentType).where(AppointmentType.name == name))

    open_panel(page, browser_site, "appointmenttypeview")
    button_link(page, "Add").click()
    expect(page.get_by_role("heading", name="New appointment type")).to_be_visible()
    field(page, "Name").fill(name)
    field(page, "Duration (minutes)").fill("45")
    field(page, "Price").fill("55.00")
    choose(page, "Currency", "Euro")
    field(page, "Capacity (1 = private lesson)").fill("1")
    choose(page, "Location modes", "In person")
    choose(page, "Location modes", "Online")
    choose(page, "Offered at (in person)", "Riverside Hall")
    for label, value in [
        ("Buffer before (minutes)", "0"),
        ("Buffer after (minutes)", "10"),
        ("Start times every (minutes)", "15"),
        ("Minimum notice (hours)", "12"),
        ("Bookable up to (days ahead)", "60"),
        ("Cancellation cutoff (hours)", "24"),
    ]:
        field(page, label).fill(value)
    field(page, "Colour").fill("#aa3300")  # the colour picker's value
    field(page, "Active").check()
    save(page)

    expect(flash(page)).to_contain_text("Appointment type added.")
    listed = row(page, name)
    expect(listed).to_contain_text("55.00 EUR")
    expect(listed).to_contain_text("In person, Online")
    owner.expire_all()
    created = owner.scalar(sa.select(AppointmentType).where(AppointmentType.name == name))
    assert (created.price_cents, created.currency, created.color, created.active) == (
        5500,
        "EUR",
        "#aa3300",
        True,
    )
    assert [location.name for location in created.locations] == ["Riverside Hall"]

    button_link(listed, "Show").click()
    expect(page.locator("body")).to_contain_text("Location modes In person, Online")
    expect(page.locator("body")).to_contain_text("Offered at (in person) Riverside Hall")
    expect(page.locator("body")).not_to_contain_text("in_person")
    expect(page.locator("body")).not_to_contain_text("object at 0x")

    open_panel(page, browser_site, "appointmenttypeview")
    button_link(row(page, name), "Edit").click()
    expect(field(page, "Price")).to_have_value("55.00")
    field(page, "Price").fill("60")
    unchoose(page, "Offered at (in person)", "Riverside Hall")
    unchoose(page, "Location modes", "In person")
    field(page, "Active").uncheck()
    save(page)

    expect(flash(page)).to_contain_text("Appointment type saved.")
    expect(row(page, name)).to_contain_text("60.00 EUR")
    expect(row(page, name)).to_contain_text("No")
    owner.expire_all()
    changed = owner.scalar(sa.select(AppointmentType).where(AppointmentType.name == name))
    assert (changed.price_cents, changed.location_modes, changed.active) == (
        6000,
        ["online"],
        False,
    )
    assert changed.locations == []


# --- qualifications ------------------------------------------------------------------------------


def test_admin_adds_refuses_a_duplicate_edits_and_removes_a_qualification(
    admin_page, browser_site, owner, org_ids
):
    from playwright.sync_api import expect

    page = admin_page
    scott = owner.scalar(
        sa.select(Membership.id).join(User).where(User.email == "scott@musicschool.demo")
    )
    theory = owner.scalar(
        sa.select(AppointmentType.id).where(
            AppointmentType.organization_id == org_ids["musicschool"],
            AppointmentType.name == "Music theory (online)",
        )
    )
    mine = sa.and_(
        InstructorQualification.instructor_id == scott,
        InstructorQualification.appointment_type_id == theory,
    )
    owner.execute(sa.delete(InstructorQualification).where(mine))
    owner.commit()

    def add_scott_for_theory():
        open_panel(page, browser_site, "instructorqualificationview")
        button_link(page, "Add").click()
        choose(page, "Instructor", "Scott Joplin")
        choose(page, "Appointment type", "Music theory")

    add_scott_for_theory()
    save(page)
    expect(flash(page)).to_contain_text("Qualification added.")
    expect(row(page, "Music theory (online)").filter(has_text="Scott Joplin")).to_contain_text(
        "Same as the type (35.00 USD)"
    )

    add_scott_for_theory()
    field(page, "Own price (optional)").fill("42.50")
    save(page)
    expect(page.get_by_text("Scott Joplin is already qualified for Music theory")).to_be_visible()
    expect(field(page, "Own price (optional)")).to_have_value("42.50")
    expect(page.locator(".select2-selection__rendered", has_text="Scott Joplin")).to_be_visible()

    open_panel(page, browser_site, "instructorqualificationview")
    listed = row(page, "Music theory (online)").filter(has_text="Scott Joplin")
    button_link(listed, "Edit").click()
    field(page, "Own price (optional)").fill("42.50")
    save(page)
    expect(flash(page)).to_contain_text("Qualification saved.")
    expect(listed).to_contain_text("42.50 USD")
    owner.expire_all()
    assert owner.scalar(sa.select(InstructorQualification.price_override_cents).where(mine)) == 4250

    button_link(listed, "Delete").click()
    page.locator("#modal-confirm").get_by_role("link", name="OK").click()  # FAB asks first
    expect(flash(page)).to_contain_text("Qualification deleted.")
    expect(listed).to_have_count(0)
    owner.expire_all()
    assert (
        owner.scalar(sa.select(sa.func.count()).select_from(InstructorQualification).where(mine))
        == 0
    )


# --- people --------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["instructorview", "studentview"])
def test_admin_adds_and_deactivates_a_person(
    admin_page, browser_site, owner, stamp, cleanup, endpoint
):
    from playwright.sync_api import expect

    page = admin_page
    email = f"person-{stamp}@example.com"
    noun = "Instructor" if endpoint == "instructorview" else "Student"
    user_ids = sa.select(User.id).where(User.email == email).scalar_subquery()
    cleanup.append(sa.delete(User).where(User.email == email))
    cleanup.append(sa.delete(Membership).where(Membership.user_id == user_ids))

    open_panel(page, browser_site, endpoint)
    button_link(page, "Add").click()
    field(page, "First name").fill("Pablo")
    field(page, "Last name").fill(f"Casals {stamp}")
    field(page, "Email").fill(email)
    save(page)

    expect(flash(page)).to_contain_text(f"Invitation sent to {email}")
    listed = row(page, f"Casals {stamp}")
    expect(listed).to_contain_text(email)
    expect(listed).to_contain_text("Yes")

    button_link(listed, "Edit").click()
    field(page, "Active").uncheck()
    save(page)

    expect(flash(page)).to_contain_text(f"{noun} saved.")
    expect(listed).to_contain_text("No")
    owner.expire_all()
    membership = owner.scalar(sa.select(Membership).join(User).where(User.email == email))
    assert (membership.role.value, membership.active) == (noun.lower(), False)
