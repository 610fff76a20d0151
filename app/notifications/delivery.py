"""Sending outbox rows: what the Celery task and the beat sweeper do.

A row is claimed with a conditional status change (``pending`` and due, or ``sending`` with
a lease older than ``MAIL_SENDING_LEASE_S``: its worker died), so two copies of a task, or
a task and the sweeper, never both send it. Each message is marked ``sent`` in its own
commit right after the SMTP server accepts it. A failure puts the row back to ``pending``
with an exponential backoff, and after ``MAIL_MAX_ATTEMPTS`` leaves it ``failed`` with the
error. Runs on the privileged connection (all schools); leases use the database's clock.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.policy import compat32

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.mail import Invitation, build_message, open_transport
from app.models import Notification, NotificationStatus
from app.notifications.outbox import publish

log = logging.getLogger(__name__)

# smtplib sends bytes as they are: the message must already have CRLF line ends.
SMTP_LINES = compat32.clone(linesep="\r\n")

PENDING = NotificationStatus.PENDING.value
SENDING = NotificationStatus.SENDING.value
SENT = NotificationStatus.SENT.value
FAILED = NotificationStatus.FAILED.value


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: dict[float, list[int]] = field(default_factory=dict)  # delay (s) -> ids
    failed: list[int] = field(default_factory=list)
    skipped: int = 0


def _lease() -> timedelta:
    return timedelta(seconds=float(current_app.config["MAIL_SENDING_LEASE_S"]))


def _claimable():
    return sa.or_(
        sa.and_(Notification.status == PENDING, Notification.next_attempt_at <= sa.func.now()),
        sa.and_(Notification.status == SENDING, Notification.claimed_at < sa.func.now() - _lease()),
    )


@dataclass(frozen=True)
class Claimed:
    """What sending one row needs, read once: commits never make the ORM reload it."""

    id: int
    attempts: int
    recipient: str
    subject: str
    text_body: str
    html_body: str | None
    reply_to: str | None
    calendar: str | None
    calendar_method: str | None


def claim(ids: Sequence[int]) -> list[Claimed]:
    """Take the rows that are still to be sent; commit, so the claim outlives this process."""
    rows = db.session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(list(ids)), _claimable())
        .values(
            status=SENDING,
            claimed_at=sa.func.now(),
            attempts=Notification.attempts + 1,
        )
        .returning(
            Notification.id,
            Notification.attempts,
            Notification.recipient,
            Notification.subject,
            Notification.text_body,
            Notification.html_body,
            Notification.reply_to,
            Notification.calendar,
            Notification.calendar_method,
        )
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted((Claimed(*row) for row in rows), key=lambda row: row.id)


def message_id(notification_id: int) -> str:
    """Stable per notification: a resend after a crash carries the same Message-ID."""
    domain = current_app.config["APP_DOMAIN"].split(":")[0] or "coursecove"
    return f"<notification-{notification_id}@{domain}>"


def render(notification: Claimed | Notification):
    invitation = (
        Invitation(notification.calendar, notification.calendar_method or "REQUEST")
        if notification.calendar
        else None
    )
    return build_message(
        to=notification.recipient,
        subject=notification.subject,
        text=notification.text_body,
        html=notification.html_body,
        invitation=invitation,
        reply_to=notification.reply_to,
        message_id=message_id(notification.id),
    )


def deliver(ids: Sequence[int]) -> DeliveryReport:
    """Send these notifications (those not already sent or being sent) over one connection."""
    report = DeliveryReport()
    rows = claim(ids)
    report.skipped = len(set(ids)) - len(rows)
    if not rows:
        return report
    remaining = list(rows)
    # One connection of its own marks each message sent right after the server took it:
    # a commit per message (a worker that dies loses at most the message in flight), without
    # waiting for the disk (only a database crash could lose the last few marks).
    with db.engine.connect() as marks:
        marks.exec_driver_sql("SET synchronous_commit TO OFF")
        try:
            with open_transport() as transport:
                while remaining:
                    notification = remaining[0]
                    message = render(notification).as_bytes(policy=SMTP_LINES)
                    try:
                        transport.send(notification.recipient, message)
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
                        # This recipient or message only: the connection is still good.
                        remaining.pop(0)
                        _failed_attempt([notification], error, report)
                        continue
                    remaining.pop(0)
                    _mark_sent(marks, notification.id, transport.name, message)
                    report.sent.append(notification.id)
        except (OSError, smtplib.SMTPException) as error:
            _failed_attempt(remaining, error, report)
        finally:
            marks.exec_driver_sql("RESET synchronous_commit")
            marks.commit()
    for delay, retry_ids in report.retrying.items():
        publish(retry_ids, countdown=delay)
    return report


def _mark_sent(marks: sa.Connection, notification_id: int, transport: str, message: bytes) -> None:
    values = {"status": SENT, "sent_at": sa.func.now(), "transport": transport, "last_error": None}
    if transport == "outbox":
        values["raw_message"] = message
    marks.execute(
        sa.update(Notification.__table__)
        .where(Notification.id == notification_id, Notification.status == SENDING)
        .values(**values)
    )
    marks.commit()


def _backoff_seconds(attempts: int) -> float:
    config = current_app.config
    base = float(config["MAIL_RETRY_BASE_S"])
    return min(base * 2 ** max(attempts - 1, 0), float(config["MAIL_RETRY_MAX_S"]))


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _failed_attempt(
    notifications: Iterable[Claimed], error: BaseException, report: DeliveryReport
) -> None:
    max_attempts = int(current_app.config["MAIL_MAX_ATTEMPTS"])
    for notification in notifications:
        final = notification.attempts >= max_attempts
        delay = _backoff_seconds(notification.attempts)
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id == notification.id, Notification.status == SENDING)
            .values(
                status=FAILED if final else PENDING,
                last_error=_describe(error),
                next_attempt_at=sa.func.now() + timedelta(seconds=delay),
                claimed_at=None,
            )
        )
        if final:
            report.failed.append(notification.id)
        else:
            report.retrying.setdefault(delay, []).append(notification.id)
        log.warning(
            "Notification %s (attempt %s) not sent: %s%s",
            notification.id,
            notification.attempts,
            _describe(error),
            "; giving up" if final else f"; retrying in {delay:.0f} s",
        )
    db.session.commit()


def sweep(limit: int = 20_000) -> int:
    """Beat: publish rows whose task never reached a worker, is overdue, or whose worker died."""
    ids = stranded_ids(limit)
    if ids:
        publish(ids)
        log.info("Sweeper re-published %d notification(s)", len(ids))
    return len(ids)


def stranded_ids(limit: int = 20_000) -> list[int]:
    """Rows the sweeper would publish now: pending past MAIL_SWEEP_AFTER_S, or claimed by a
    worker whose lease has run out."""
    overdue = sa.func.now() - timedelta(seconds=float(current_app.config["MAIL_SWEEP_AFTER_S"]))
    ids = db.session.scalars(
        sa.select(Notification.id)
        .where(
            sa.or_(
                sa.and_(Notification.status == PENDING, Notification.next_attempt_at < overdue),
                sa.and_(
                    Notification.status == SENDING,
                    Notification.claimed_at < sa.func.now() - _lease(),
                ),
            )
        )
        .order_by(Notification.next_attempt_at)
        .limit(limit)
    ).all()
    db.session.commit()
    return list(ids)


def deliver_pending(limit: int = 20_000) -> DeliveryReport:
    """Send every due notification in this process (``flask notifications send``, tests)."""
    ids = db.session.scalars(
        sa.select(Notification.id).where(_claimable()).order_by(Notification.id).limit(limit)
    ).all()
    db.session.commit()
    return deliver(ids) if ids else DeliveryReport()
