"""The one mail service: builds a message (plain text, HTML, an iCal invitation) and hands
it to the configured transport.

Settings (``MAIL_*``):
- ``MAIL_BACKEND``: ``smtp`` (the default) or ``outbox``: keep messages in the database's
  local outbox instead of sending them (``make run`` without a mail server; school and
  platform admins read them under "Notifications").
- ``MAIL_SERVER`` / ``MAIL_PORT``, ``MAIL_USERNAME`` / ``MAIL_PASSWORD`` (log in),
  ``MAIL_USE_TLS`` (STARTTLS), ``MAIL_USE_SSL`` (SMTP over TLS), ``MAIL_TIMEOUT`` (seconds),
  ``MAIL_FROM`` (the sender).

Only the notification worker (``app.notifications``) calls ``open_transport``; everything
else queues e-mail with ``app.notifications.queue_email``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

log = logging.getLogger(__name__)

SMTP = "smtp"
OUTBOX = "outbox"


@dataclass(frozen=True)
class Invitation:
    """An iCalendar object to attach: ``method`` is REQUEST or CANCEL (matches its METHOD)."""

    ics: str
    method: str


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    invitation: Invitation | None = None,
    reply_to: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A MIME message mail clients show well: text and HTML alternatives, and the invitation
    both as a ``text/calendar`` alternative (Gmail, Outlook show it as an event) and as an
    ``invite.ics`` attachment (Apple Mail, and anyone saving it)."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(domain="coursecove")
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    if invitation is not None:
        message.add_alternative(
            invitation.ics, subtype="calendar", params={"method": invitation.method}
        )
        message.add_attachment(
            invitation.ics.encode(),
            maintype="application",
            subtype="ics",
            filename="invite.ics",
        )
    return message


class Transport:
    name: str

    def send(self, message: EmailMessage) -> None:
        raise NotImplementedError


class SmtpTransport(Transport):
    """One SMTP connection, reused for every message sent while it is open."""

    name = SMTP

    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp

    def send(self, message: EmailMessage) -> None:
        self.smtp.send_message(message)


class OutboxTransport(Transport):
    """Sends nothing: the caller keeps the message (``Notification.raw_message``)."""

    name = OUTBOX

    def send(self, message: EmailMessage) -> None:
        return None


@contextmanager
def open_transport() -> Iterator[Transport]:
    """The configured transport; for SMTP, one connection for all messages sent inside.

    Raises ``OSError`` / ``smtplib.SMTPException`` when the server cannot be reached."""
    config = current_app.config
    if config.get("MAIL_BACKEND", SMTP) == OUTBOX:
        yield OutboxTransport()
        return
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    timeout = float(config.get("MAIL_TIMEOUT", 10))
    smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    with smtp_class(host, port, timeout=timeout) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        yield SmtpTransport(smtp)
