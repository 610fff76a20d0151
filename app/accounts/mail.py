"""The one door for account e-mails (invitations, sign-up links, password resets).

Each is a row of the notification outbox written in the caller's transaction
(``app.notifications.queue_email``): it exists exactly when the token it carries was saved,
and a Celery worker sends it after the commit (docs/notifications.md). Under ``make run``
it lands in the local outbox, where the platform admin and the school's admins read it.
"""

from __future__ import annotations

from flask import current_app

from app.notifications import queue_email


def send_account_email(*, to: str, subject: str, text: str, organization_id: int | None) -> None:
    """Queue ``text`` to ``to``; it is sent once the current transaction commits."""
    queue_email(to=to, subject=subject, text=text, organization_id=organization_id)


def site_url(subdomain: str | None, path: str) -> str:
    """An absolute address on a school's site (or the platform's when ``subdomain`` is None)."""
    config = current_app.config
    scheme = config.get("PREFERRED_URL_SCHEME", "http")
    host = f"{subdomain}.{config['APP_DOMAIN']}" if subdomain else config["APP_DOMAIN"]
    return f"{scheme}://{host}{path}"
