"""Accounts: proving an address before it can be used, invitations, sign-up, password resets.

The rule (docs/accounts.md): a password is only ever chosen by the person who owns the
address, on a page reached through a link sent to that address. Sign-up, an invitation from
a school (or the platform) and "Forgot password" all end on that page.
"""

from __future__ import annotations

from flask import current_app


def register(appbuilder) -> None:
    from app.accounts.views import bp

    current_app._get_current_object().register_blueprint(bp)
