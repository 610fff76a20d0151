"""The platform admin's read-only webhook events and the 24-hour summary."""

from __future__ import annotations

import re

import pytest

from tests.identity.clerk import ClerkPerson, ClerkSchool, expect, unique

PLATFORM_ADMIN = "platform@coursecove.demo"


@pytest.fixture
def admin(visit):
    return visit(None, PLATFORM_ADMIN)


def test_platform_admin_lists_events_filtered_by_status_and_type(admin, deliver):
    failed_id, completed_id = unique("msg"), unique("msg")
    expect(deliver(ClerkSchool(slug="www").event(), svix_id=failed_id))
    expect(deliver(ClerkPerson().event(), svix_id=completed_id))

    by_status = admin.get("/webhookevents/list/?_flt_3_status=failed&psize_WebhookEventView=100")
    by_type = admin.get(
        "/webhookevents/list/?_flt_3_event_type=user.created&psize_WebhookEventView=100"
    )

    assert by_status.status_code == 200, f"expected 200, got {by_status.status_code}"
    assert failed_id.encode() in by_status.data and completed_id.encode() not in by_status.data
    assert completed_id.encode() in by_type.data and failed_id.encode() not in by_type.data


def test_event_page_shows_payload_and_error(admin, deliver, owner_db):
    svix_id = unique("msg")
    school = ClerkSchool(slug="www")
    expect(deliver(school.event(), svix_id=svix_id))
    listing = admin.get(f"/webhookevents/list/?_flt_3_svix_id={svix_id}")
    pk = re.search(rb"/webhookevents/show/(\d+)", listing.data).group(1).decode()

    page = admin.get(f"/webhookevents/show/{pk}")

    assert page.status_code == 200
    assert school.id.encode() in page.data, "expected the payload on the page"
    assert b"reserved" in page.data, "expected the error on the page"


def test_events_are_read_only(admin):
    for path in ("/webhookevents/add", "/webhookevents/edit/1", "/webhookevents/delete/1"):
        response = admin.get(path)
        assert response.status_code in (302, 403, 404, 405), (
            f"expected {path} refused, got {response.status_code}"
        )
        assert response.status_code != 200


def test_summary_counts_the_last_24_hours(admin, deliver, app):
    with app.app_context():
        from app.identity import service
        from app.tenancy import privileged

        with privileged():
            before = service.summary()
    expect(deliver(ClerkPerson().event()))
    expect(deliver(ClerkSchool(slug="www").event()))

    page = admin.get("/webhooks/summary")

    assert page.status_code == 200, f"expected 200, got {page.status_code}"
    figures = {
        name.decode(): int(value)
        for name, value in re.findall(rb'data-figure="(\w+)">(\d+)<', page.data)
    }
    assert figures["received"] >= before.received + 2, f"got {figures}"
    assert figures["completed_fast"] >= before.completed_fast + 1, f"got {figures}"
    assert figures["failed"] >= before.failed + 1, f"got {figures}"


@pytest.mark.parametrize("path", ["/webhookevents/list/", "/webhooks/summary"])
def test_not_on_school_subdomains_nor_for_school_admins(visit, path):
    on_school = visit("musicschool", "grace@musicschool.demo").get(path)
    assert on_school.status_code == 404, (
        f"expected 404 on a school host, got {on_school.status_code}"
    )
    on_platform = visit(None, "grace@musicschool.demo").get(path)
    assert on_platform.status_code in (302, 403), (
        f"expected a school admin refused on the platform, got {on_platform.status_code}"
    )
