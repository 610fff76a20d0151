"""The one way CourseCove sends email: plain SMTP to ``SMTP_HOST:SMTP_PORT`` from ``MAIL_FROM``.

Optional settings: ``SMTP_USERNAME`` / ``SMTP_PASSWORD`` (log in), ``SMTP_STARTTLS`` (upgrade
the connection), ``SMTP_TIMEOUT`` (seconds, default 10).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


def send_mail(
    to: str | Iterable[str], subject: str, body: str, *, reply_to: str | None = None
) -> None:
    """Send one plain-text message; raises ``OSError`` / ``smtplib.SMTPException`` on failure."""
    config = current_app.config
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(body)
    with smtplib.SMTP(
        config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=float(config.get("SMTP_TIMEOUT", 10))
    ) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD", ""))
        smtp.send_message(message)
    log.info("Sent %r to %s", subject, ", ".join(recipients))
