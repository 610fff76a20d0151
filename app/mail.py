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
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app

log = logging.getLogger(__name__)

SMTP = "smtp"
OUTBOX = "outbox"


@dataclass(frozen=True)
class Invitation:
    """An iCalendar object to attach: ``method`` is REQUEST or CANCEL (matches its METHOD)."""

    ics: str
    method: str


def _text_part(content: str, subtype: str) -> MIMEText:
    # Quoted-printable keeps the raw message readable; the classic MIME classes are several
    # times faster than EmailMessage's content manager (a reminder run builds thousands).
    utf8 = Charset("utf-8")
    utf8.body_encoding = QP
    return MIMEText(content, subtype, utf8)


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    invitation: Invitation | None = None,
    reply_to: str | None = None,
    message_id: str | None = None,
) -> Message:
    """A MIME message mail clients show well: text and HTML alternatives, and the invitation
    both as a ``text/calendar`` alternative (Gmail, Outlook show it as an event) and as an
    ``invite.ics`` attachment (Apple Mail, and anyone saving it)."""
    config = current_app.config
    body: Message = _text_part(text, "plain")
    if html or invitation is not None:
        body = MIMEMultipart("alternative", _subparts=[body])
        if html:
            body.attach(_text_part(html, "html"))
        if invitation is not None:
            calendar = _text_part(invitation.ics, "calendar")
            calendar.set_param("method", invitation.method)
            body.attach(calendar)
    message = body
    if invitation is not None:
        attachment = MIMEBase("application", "ics", name="invite.ics")
        attachment.set_payload(invitation.ics.encode())
        encoders.encode_base64(attachment)
        attachment.add_header("Content-Disposition", "attachment", filename="invite.ics")
        message = MIMEMultipart("mixed", _subparts=[body, attachment])
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(domain="coursecove")
    if reply_to:
        message["Reply-To"] = reply_to
    return message


def sender_address() -> str:
    return parseaddr(current_app.config["MAIL_FROM"])[1]


class Transport:
    name: str

    def send(self, recipient: str, message: bytes) -> None:
        raise NotImplementedError


class SmtpTransport(Transport):
    """One SMTP connection, reused for every message sent while it is open."""

    name = SMTP

    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp

    def send(self, recipient: str, message: bytes) -> None:
        self.smtp.sendmail(sender_address(), [recipient], message)


class OutboxTransport(Transport):
    """Sends nothing: the caller keeps the message (``Notification.raw_message``)."""

    name = OUTBOX

    def send(self, recipient: str, message: bytes) -> None:
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
