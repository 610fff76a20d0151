"""Web security that is not tenancy: refusing malformed requests, safe ``next`` targets,
security headers, rate limits and sign-in lockout, and sessions that end at sign-out.

CSRF protection is Flask-WTF's ``CSRFProtect`` (``app.extensions.csrf``); tenant isolation is
``app.tenancy``. docs/security.md says what each guarantee is and where it is tested.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Before the tenancy hook, so nothing malformed reaches a query."""
    from app.security import headers, requests, sessions

    requests.init_app(app)
    headers.init_app(app)
    sessions.init_app(app)


def init_after_views(app: Flask) -> None:
    """After every view is registered: limits attach to blueprints, FAB's Babel is set up."""
    from app.security import templates, throttle

    throttle.init_app(app)
    templates.init_app(app)
