"""The outbox: rows written in the caller's transaction, sent by a real Celery worker over
real SMTP after the commit; retries, failure, the sweeper, and a worker killed mid-send."""

from __future__ import annotations

import time
from email import message_from_bytes

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import Notification
from app.notifications import queue_email
from app.notifications.delivery import deliver, stranded_ids, sweep
from app.tenancy import privileged, tenant
from tests.conftest import body

pytestmark = pytest.mark.usefixtures("clean_notifications")


def queue(app, subject: str, *, to: str = "someone@example.org", org_id=None, commit=True):
    """Queue one e-mail in a transaction of its own, as a service would; returns its id."""
    with app.app_context(), tenant(org_id):
        notification = queue_email(
            to=to,
            subject=subject,
            text=f"Hello,\n\n{subject}\n",
            html=f"<p>Hello,</p><p>{subject}</p>",
            organization_id=org_id,
        )
        db.session.flush()
        notification_id = notification.id
        if commit:
            db.session.commit()
        else:
            db.session.rollback()
        db.session.remove()
    return notification_id


def with_subject(mailbox, subject: str):
    return [m for m in mailbox.messages if m["Subject"] == subject]


def test_committed_email_is_sent_by_the_worker_with_text_and_html(
    app, worker, mailbox, wait_for_status
):
    notification_id = queue(app, "Please verify your address", to="new@example.org")

    row = wait_for_status(notification_id, "sent", worker=worker)
    mailbox.wait_for(1)
    received = with_subject(mailbox, "Please verify your address")

    assert (row["transport"], row["attempts"], row["last_error"]) == ("smtp", 1, None)
    assert len(received) == 1 and received[0]["X-Envelope-To"] == "new@example.org"
    assert "Please verify your address" in body(received[0])
    html = received[0].get_body(("html",))
    assert html is not None and "<p>Please verify your address</p>" in html.get_content()
    assert received[0]["Message-ID"] == f"<notification-{notification_id}@coursecove.test>"


def test_rolled_back_transaction_leaves_no_row_and_sends_nothing(
    app, worker, mailbox, notification_row
):
    notification_id = queue(app, "Never committed", commit=False)
    time.sleep(1.5)

    assert notification_row(notification_id) == {}
    assert with_subject(mailbox, "Never committed") == []


def test_a_school_queues_only_for_itself_and_sees_only_its_rows(app, org_ids):
    music, yoga = org_ids["musicschool"], org_ids["yogastudio"]
    mine = queue(app, "Music school notice", org_id=music)
    queue(app, "Yoga studio notice", org_id=yoga)
    queue(app, "Platform notice", org_id=None)

    with app.app_context(), tenant(music):
        visible = set(db.session.scalars(sa.select(Notification.organization_id)))
        with pytest.raises(DBAPIError, match="row-level security"):
            queue_email(to="x@example.org", subject="smuggled", text="x", organization_id=yoga)
            db.session.flush()
        db.session.rollback()
    with app.app_context(), tenant(None):
        platform_visible = set(db.session.scalars(sa.select(Notification.organization_id)))
        db.session.remove()

    assert visible == {music} and mine
    assert platform_visible == {None}


def test_smtp_down_leaves_the_row_pending_with_the_error_and_a_later_attempt(
    app, monkeypatch, mailbox, notification_row, owner_engine
):
    from app.local_engines import free_port

    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    notification_id = queue(app, "Mail server down")  # the publish fails too: no worker
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens there
    with owner_engine.connect() as conn:  # backoff runs on the database's clock
        before = conn.scalar(sa.select(sa.func.now()))

    with app.app_context(), privileged():
        report = deliver([notification_id])
        db.session.remove()
    row = notification_row(notification_id)

    assert report.sent == [] and sum(len(v) for v in report.retrying.values()) == 1
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "ConnectionRefusedError" in row["last_error"]
    backoff = float(app.config["MAIL_RETRY_BASE_S"])
    assert (row["next_attempt_at"] - before).total_seconds() >= backoff


def test_refused_recipient_is_retried_with_backoff_then_failed(
    app, worker, mailbox, wait_for_status
):
    notification_id = queue(app, "Bounce me", to="nobody@refused.test")

    row = wait_for_status(notification_id, "failed", worker=worker)

    assert row["attempts"] == 3, "MAIL_MAX_ATTEMPTS in these tests"
    assert "550" in row["last_error"] and "No such user" in row["last_error"]
    assert with_subject(mailbox, "Bounce me") == []


def test_a_row_never_published_is_sent_once_the_sweeper_finds_it(
    app, worker, mailbox, monkeypatch, owner_engine, wait_for_status
):
    from app.local_engines import free_port

    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    notification_id = queue(app, "Redis was down")  # publish fails: the row waits
    monkeypatch.undo()
    from tests.notifications.conftest import SETTINGS

    for key, value in SETTINGS.items():
        monkeypatch.setitem(app.config, key, type(app.config[key])(value))
    time.sleep(0.5)
    still_pending = _status(owner_engine, notification_id)
    with owner_engine.begin() as conn:  # as if it had waited past MAIL_SWEEP_AFTER_S
        conn.execute(
            sa.update(Notification)
            .where(Notification.id == notification_id)
            .values(next_attempt_at=sa.func.now() - sa.text("interval '2 minutes'"))
        )

    with app.app_context(), privileged():
        swept = sweep()
        db.session.remove()
    row = wait_for_status(notification_id, "sent", worker=worker)

    assert still_pending == "pending" and swept >= 1
    assert row["attempts"] == 1
    assert len(with_subject(mailbox, "Redis was down")) == 1


def test_worker_killed_mid_send_is_retaken_after_its_lease_and_sent_once(
    app, worker, start_worker, black_hole, mailbox, monkeypatch, wait_for_status
):
    # A worker whose mail server hangs: it claims the row and waits on the greeting.
    doomed = start_worker(
        queue="notify-doomed",
        name="notify-doomed",
        MAIL_PORT=str(black_hole.port),
        MAIL_TIMEOUT="60",
    )
    monkeypatch.setitem(app.config, "MAIL_TASK_QUEUE", "notify-doomed")
    notification_id = queue(app, "Survives a crash")
    claimed = wait_for_status(notification_id, "sending", worker=doomed)
    deadline = time.monotonic() + 10
    while not black_hole.accepted and time.monotonic() < deadline:
        time.sleep(0.05)

    doomed.kill()
    monkeypatch.setitem(app.config, "MAIL_TASK_QUEUE", "notify-tests")
    with app.app_context(), privileged():
        # Within the lease the row still looks claimed. (Rows other tests left pending may be
        # overdue by now, so the sweep as a whole is not asked.)
        stranded_early = notification_id in stranded_ids()
        db.session.remove()
    time.sleep(float(app.config["MAIL_SENDING_LEASE_S"]) + 0.5)
    with app.app_context(), privileged():
        stranded_late = notification_id in stranded_ids()
        late = sweep()
        db.session.remove()
    row = wait_for_status(notification_id, "sent", worker=worker)
    mailbox.wait_for(1)

    assert claimed["attempts"] == 1 and black_hole.accepted, "the doomed worker was mid-send"
    assert not stranded_early and stranded_late and late >= 1
    assert row["attempts"] == 2
    assert len(with_subject(mailbox, "Survives a crash")) == 1


def test_outbox_backend_keeps_the_whole_message_and_sends_nothing(
    app, monkeypatch, mailbox, notification_row
):
    from app.local_engines import free_port

    monkeypatch.setitem(app.config, "MAIL_BACKEND", "outbox")
    # Not published: this module's worker (which sends over SMTP) must not take it first.
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    notification_id = queue(app, "Kept locally", to="local@example.org")

    with app.app_context(), privileged():
        report = deliver([notification_id])
        db.session.remove()
    row = notification_row(notification_id)
    kept = message_from_bytes(row["raw_message"])

    assert report.sent == [notification_id]
    assert (row["status"], row["transport"]) == ("sent", "outbox")
    assert kept["Subject"] == "Kept locally" and kept["To"] == "local@example.org"
    assert with_subject(mailbox, "Kept locally") == []


def _status(owner_engine, notification_id: int) -> str:
    with owner_engine.connect() as conn:
        return conn.scalar(sa.select(Notification.status).where(Notification.id == notification_id))
