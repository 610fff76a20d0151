"""Identity sync from Clerk: webhooks (users, organizations, memberships) and Clerk sign-in.

- ``webhooks``: the ``POST /api/webhooks/clerk`` endpoint (Svix-verified), thin.
- ``service``: recording, the fast path within a budget, the worker's attempts, the sweeper.
- ``handlers``: what each Clerk event does; the same functions on every path.
- ``budget``: the time budget (a statement timeout for every statement).
- ``retention``: payloads cut after WEBHOOK_PAYLOAD_RETENTION_DAYS; a deleted person erased.
- ``queue``: handing an event to Celery with one short try; ``tasks``: the Celery tasks.
- ``oidc``: sign-in with Clerk through Flask-AppBuilder's AUTH_OAUTH.
- ``views``: the platform admin's webhook events and 24-hour summary; ``cli``: re-runs.
See docs/identity-sync.md.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """After AppBuilder and Celery: the endpoint, the CLI, the tasks and Clerk sign-in."""
    from app.identity import cli, oidc, tasks, webhooks  # noqa: F401 (tasks registers itself)

    webhooks.init_app(app)
    cli.init_app(app)
    oidc.init_app(app)
