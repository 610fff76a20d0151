"""Onboarding end to end in a real browser (Debian's chromium, CSRF on), as the people do it:
the platform admin creates a school with its first admin; she accepts the invitation read
from the real SMTP server, sets the school up and invites an instructor, who accepts and sets
his hours; a student signs up, confirms the address and books. Each step checks what the
person sees, and the end checks what the database holds."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.models import Booking, BookingAttendee, Membership, Organization, User, WorkingHours
from tests.accounts.links import link_in
from tests.conftest import sign_in

pytestmark = pytest.mark.browser


def label(text: str):
    """A form label that starts with ``text`` (FAB adds a red * to required ones)."""
    return re.compile(rf"^\s*{re.escape(text)}", re.I)


def mail_to(mailbox, address: str, subject: str):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [m for m in mailbox.to(address) if subject in m["Subject"]]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(
        f"no mail {subject!r} to {address}: {[m['Subject'] for m in mailbox.messages]}"
    )


def choose_in_select2(page, field_id: str, text: str) -> None:
    """Open a searchable list (Select2) next to its field, type, pick the match."""
    page.locator(f"#{field_id} + .select2-container").click()
    page.keyboard.type(text)
    page.locator(".select2-results__option", has_text=text).first.click()


def set_password(page, link: str, password: str) -> None:
    page.goto(link)
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Set my password and sign in").click()


def test_a_new_school_gets_going_from_the_platform_to_a_booked_lesson(
    browser_site, new_page, mailbox, owner_db
):
    suffix = str(time.time_ns())[-8:]
    subdomain = f"harmony{suffix}"
    school_name = f"Harmony Hall {suffix}"
    admin_email = f"hilda-{suffix}@example.org"
    teacher_email = f"teo-{suffix}@example.org"
    student_email = f"sam-{suffix}@example.org"

    # The platform admin adds the school and its first admin.
    platform = new_page(locale="en-US")
    sign_in(platform, browser_site, None, "platform@coursecove.demo")
    platform.get_by_role("link", name="Platform", exact=True).click()
    platform.get_by_role("link", name="Schools").click()
    platform.locator('a[href*="/organizationview/add"]').first.click()
    platform.get_by_label(label("Name")).first.fill(school_name)
    platform.get_by_label(label("Address (subdomain)")).fill(subdomain)
    zone = platform.get_by_label(label("Time zone"))
    if zone.evaluate("element => element.tagName") == "SELECT":
        choose_in_select2(platform, "time_zone", "Europe/Berlin")
    else:
        zone.fill("Europe/Berlin")
    platform.get_by_label(label("First admin's e-mail")).fill(admin_email)
    platform.get_by_label(label("First admin's first name")).fill("Hilda")
    platform.get_by_label(label("First admin's last name")).fill("Hall")
    platform.get_by_role("button", name=re.compile("Save")).click()
    expect(platform.locator(".alert")).to_contain_text(
        f"{school_name} added. Invitation sent to {admin_email}"
    )
    expect(platform.locator("body")).not_to_contain_text("Riverside Music School")
    expect(platform.locator("body")).to_contain_text(subdomain)

    # Hilda follows the link in her mail and runs the school.
    invitation = mail_to(mailbox, admin_email, "You are invited")
    admin = new_page(locale="en-US")
    set_password(admin, link_in(invitation), "hilda's own password")
    expect(admin.locator(".navbar-brand")).to_contain_text(school_name)
    expect(admin.get_by_text("you are an administrator here")).to_be_visible()

    admin.get_by_role("link", name="Instructors").first.click()
    admin.locator('a[href*="/instructorview/add"]').first.click()
    admin.get_by_label(label("First name")).fill("Teo")
    admin.get_by_label(label("Last name")).fill("Tenor")
    admin.get_by_label(label("Email")).fill(teacher_email)
    admin.get_by_role("button", name=re.compile("Save")).click()
    expect(admin.locator(".alert")).to_contain_text(f"Invitation sent to {teacher_email}")
    expect(admin.locator("body")).to_contain_text("Invitation pending")

    # A lesson to offer, and Teo qualified to teach it.
    admin.goto(browser_site.url(subdomain, "/appointmenttypeview/add"))
    admin.get_by_label(label("Name")).first.fill("Singing lesson")
    admin.get_by_label(label("Duration (minutes)")).fill("60")
    admin.get_by_label(label("Price")).fill("30.00")
    admin.get_by_label(label("Capacity")).fill("1")
    choose_in_select2(admin, "location_modes", "Online")
    admin.get_by_role("button", name=re.compile("Save")).click()
    expect(admin.locator(".alert")).to_contain_text("added")
    admin.goto(browser_site.url(subdomain, "/instructorqualificationview/add"))
    choose_in_select2(admin, "instructor", "Teo Tenor")
    choose_in_select2(admin, "appointment_type", "Singing lesson")
    admin.get_by_role("button", name=re.compile("Save")).click()
    expect(admin.locator(".alert")).to_contain_text("added")

    # Teo accepts and sets his hours: every weekday, so a free time comes whatever the date.
    teacher = new_page(locale="en-US")
    set_password(teacher, link_in(mail_to(mailbox, teacher_email, "You are invited")), "teo sings")
    teacher.get_by_role("link", name="My schedule").first.click()
    for weekday in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        form = teacher.locator("form", has=teacher.get_by_role("button", name="Add weekly hours"))
        form.get_by_label("Weekday").select_option(label=weekday)
        form.get_by_label("Start").click()
        teacher.keyboard.type("0900AM")
        form.get_by_label("End").click()
        teacher.keyboard.type("0500PM")
        form.get_by_label("Ways of teaching").select_option(["online"])
        form.get_by_role("button", name="Add weekly hours").click()
        expect(teacher.locator(".alert")).to_contain_text("Saved")
    expect(teacher.locator("[data-hours]")).to_contain_text("Sunday")

    # Sam signs up, confirms the address and books with Teo.
    student = new_page(locale="en-US")
    student.goto(browser_site.url(subdomain, "/book/"))
    expect(student.locator(".brand")).to_contain_text(school_name)
    student.get_by_role("link", name="Create an account").first.click()
    student.get_by_label("First name").fill("Sam")
    student.get_by_label("Last name").fill("Singer")
    student.get_by_label("Email").fill(student_email)
    student.get_by_role("button", name="Create my account").click()
    expect(student.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    set_password(
        student,
        link_in(mail_to(mailbox, student_email, "Confirm your e-mail")),
        "sam sings too",
    )
    student.locator("[data-type]").filter(has_text="Singing lesson").get_by_role(
        "link", name="Choose"
    ).click()
    see_times = student.get_by_role("button", name="See free times")
    if see_times.count():
        see_times.click()
    slot = student.locator("a.slot").first
    for _ in range(3):
        if slot.count():
            break
        student.get_by_role("link", name=re.compile("Next week")).click()
    slot.click()
    student.get_by_role("button", name="Book", exact=True).click()
    expect(student.locator("[data-confirmed]")).to_contain_text("You're booked")

    owner_db.expire_all()
    school_id = owner_db.scalar(
        sa.select(Organization.id).where(Organization.subdomain == subdomain)
    )
    roles = dict(
        owner_db.execute(
            sa.select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organization_id == school_id)
        ).all()
    )
    assert {email: role.value for email, role in roles.items()} == {
        admin_email: "admin",
        teacher_email: "instructor",
        student_email: "student",
    }
    assert (
        owner_db.scalar(
            sa.select(sa.func.count())
            .select_from(WorkingHours)
            .where(WorkingHours.organization_id == school_id)
        )
        == 7
    )
    booked = (
        owner_db.execute(
            sa.select(BookingAttendee.status)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .where(Booking.organization_id == school_id)
        )
        .scalars()
        .all()
    )
    assert booked == ["confirmed"]
