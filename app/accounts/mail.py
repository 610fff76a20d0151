"""The one door for account e-mails (invitations, sign-up links, password resets).

Messages are handed over when the caller's transaction commits and dropped if it rolls back,
so a link is never mailed for a token that was not saved.
"""

from __future__ import annotations

import logging
import smtplib

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.mail import send_mail

log = logging.getLogger(__name__)


def send_account_email(*, to: str, subject: str, text: str, organization_id: int | None) -> None:
    """Send ``text`` to ``to`` once the current transaction commits."""
    pending = db.session().info.setdefault("account_mail", [])
    pending.append((to, subject, text, organization_id))


def site_url(subdomain: str | None, path: str) -> str:
    """An absolute address on a school's site (or the platform's when ``subdomain`` is None)."""
    config = current_app.config
    scheme = config.get("PREFERRED_URL_SCHEME", "http")
    host = f"{subdomain}.{config['APP_DOMAIN']}" if subdomain else config["APP_DOMAIN"]
    return f"{scheme}://{host}{path}"


def _deliver(session) -> None:
    for to, subject, text, _organization_id in session.info.pop("account_mail", []):
        try:
            send_mail(to, subject, text)
        except (OSError, smtplib.SMTPException) as error:
            # The link is saved; the admin can send it again, the person can ask again.
            if current_app.config.get("ACCOUNT_MAIL_TO_LOG"):
                log.warning("Not sent (%s); the message to %s:\n%s\n%s", error, to, subject, text)
            else:
                log.error("Could not send %r to %s: %s", subject, to, error)


def _drop(session) -> None:
    session.info.pop("account_mail", None)


def init_app() -> None:
    from app.tenancy.session import TenantRoutingSession

    if not sa.event.contains(TenantRoutingSession, "after_commit", _deliver):
        sa.event.listen(TenantRoutingSession, "after_commit", _deliver)
        sa.event.listen(TenantRoutingSession, "after_rollback", _drop)
