"""The admin panels for e-mails: a school admin sees their school's (the local outbox
included, HTML rendered, invitation and message to download), never another school's; the
platform admin sees every school's."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Notification
from app.notifications import queue_email
from app.notifications.delivery import deliver
from app.tenancy import privileged, tenant

pytestmark = pytest.mark.usefixtures("clean_notifications")

INVITE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:view-test@coursecove\r\nDTSTAMP:20270101T000000Z\r\n"
    "DTSTART:20270102T100000Z\r\nDTEND:20270102T110000Z\r\nSUMMARY:Lesson\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def kept_in_outbox(app, monkeypatch, org_id: int | None, subject: str) -> int:
    """One e-mail of that school, delivered to the local outbox (as under `make run`)."""
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "outbox")
    with app.app_context(), tenant(org_id):
        notification = queue_email(
            to="reader@example.org",
            subject=subject,
            text=f"{subject} (text)",
            html=f'<p class="x">{subject} <b>bold</b> "quoted"</p>',
            organization_id=org_id,
            kind="booked",
            calendar=INVITE,
            calendar_method="REQUEST",
        )
        db.session.commit()
        notification_id = notification.id
        db.session.remove()
    with app.app_context(), privileged():
        deliver([notification_id])
        db.session.remove()
    return notification_id


def test_school_admin_reads_the_local_outbox_with_html_invitation_and_message(
    app, visit, org_ids, monkeypatch
):
    mine = kept_in_outbox(app, monkeypatch, org_ids["musicschool"], "Music news")
    kept_in_outbox(app, monkeypatch, org_ids["yogastudio"], "Yoga news")
    admin = visit("musicschool", "grace@musicschool.demo")

    listing = admin.get("/school/emails/list/").data.decode()
    page = admin.get(f"/school/emails/show/{mine}").data.decode()
    invitation = admin.get(f"/school/emails/invitation/{mine}")
    message = admin.get(f"/school/emails/message/{mine}")

    assert "Music news" in listing and "Yoga news" not in listing
    assert "Local outbox" in listing and 'data-status="sent"' in listing
    assert 'sandbox=""' in page and "srcdoc=" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &#34;quoted&#34;" in page, "the HTML, escaped into srcdoc"
    assert invitation.status_code == 200 and invitation.mimetype == "text/calendar"
    assert b"METHOD:REQUEST" in invitation.data
    kept = message_from_bytes(message.data, policy=policy.default)
    assert message.status_code == 200 and kept["Subject"] == "Music news"
    assert kept.get_body(("html",)).get_content().strip().startswith('<p class="x">')


def test_another_schools_email_is_a_404_on_every_route(app, visit, org_ids, monkeypatch):
    theirs = kept_in_outbox(app, monkeypatch, org_ids["yogastudio"], "Yoga only")
    admin = visit("musicschool", "grace@musicschool.demo")

    statuses = [
        admin.get(f"/school/emails/{route}/{theirs}").status_code
        for route in ("show", "invitation", "message")
    ]

    assert statuses == [404, 404, 404]


def test_students_and_instructors_cannot_open_the_emails_panel(visit):
    for email in ("ada@musicschool.demo", "clara@musicschool.demo"):
        response = visit("musicschool", email).get("/school/emails/list/")
        assert response.status_code in (302, 403), email
        assert b"reader@example.org" not in response.data


def test_platform_admin_sees_every_schools_and_the_platforms_emails(
    app, visit, org_ids, monkeypatch
):
    kept_in_outbox(app, monkeypatch, org_ids["musicschool"], "Music news")
    kept_in_outbox(app, monkeypatch, org_ids["yogastudio"], "Yoga news")
    platform_own = kept_in_outbox(app, monkeypatch, None, "Verify your address")
    platform = visit(None, "platform@coursecove.demo")

    listing = platform.get("/platform/emails/list/").data.decode()
    show = platform.get(f"/platform/emails/show/{platform_own}")
    on_a_school_site = visit("musicschool", "grace@musicschool.demo").get("/platform/emails/list/")

    assert all(s in listing for s in ("Music news", "Yoga news", "Verify your address"))
    assert "Riverside Music School" in listing and "Platform" in listing
    assert show.status_code == 200 and b"Verify your address (text)" in show.data
    assert on_a_school_site.status_code == 404


def test_a_failed_email_shows_its_error_to_the_school_admin(app, visit, org_ids, owner_engine):
    with app.app_context(), tenant(org_ids["musicschool"]):
        notification = queue_email(
            to="nobody@refused.test",
            subject="Will fail",
            text="x",
            organization_id=org_ids["musicschool"],
        )
        db.session.commit()
        failed_id = notification.id
        db.session.remove()
    with owner_engine.begin() as conn:
        conn.execute(
            sa.update(Notification)
            .where(Notification.id == failed_id)
            .values(status="failed", attempts=6, last_error="SMTPRecipientsRefused: 550 No such")
        )

    page = visit("musicschool", "grace@musicschool.demo").get(
        "/school/emails/list/?_flt_0_status=failed"
    )

    assert "Will fail" in page.data.decode() and "550 No such" in page.data.decode()
    assert 'data-status="failed"' in page.data.decode()
