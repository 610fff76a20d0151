"""Signing in with Clerk as an OpenID Connect provider, through Flask-AppBuilder's AUTH_OAUTH.

With ``CLERK_ISSUER`` and ``CLERK_OAUTH_CLIENT_ID`` set, sign-in is Clerk's (authorization
code flow; the ID token is verified against the issuer's keys) and the person is matched to
the user the webhooks synced: by Clerk user id, then by an e-mail address Clerk has verified.
Nobody is created at sign-in (``AUTH_USER_REGISTRATION`` stays off): people arrive through
the webhooks. Without those settings FAB's own database sign-in stays as it is.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask
from flask_appbuilder.const import AUTH_OAUTH

from app.extensions import db
from app.models import ClerkUser, User

log = logging.getLogger(__name__)

PROVIDER = "clerk"


def configure_clerk_sign_in(config: dict) -> None:
    """Before AppBuilder starts: turn on AUTH_OAUTH with Clerk when it is configured."""
    issuer = (config.get("CLERK_ISSUER") or "").rstrip("/")
    if not issuer or not config.get("CLERK_OAUTH_CLIENT_ID"):
        return
    config["AUTH_TYPE"] = AUTH_OAUTH
    config["AUTH_USER_REGISTRATION"] = False
    config["OAUTH_PROVIDERS"] = [
        {
            "name": PROVIDER,
            "icon": "fa-key",
            "token_key": "access_token",
            "remote_app": {
                "client_id": config["CLERK_OAUTH_CLIENT_ID"],
                "client_secret": config.get("CLERK_OAUTH_CLIENT_SECRET") or "",
                "server_metadata_url": f"{issuer}/.well-known/openid-configuration",
                "client_kwargs": {"scope": "openid email profile"},
            },
        }
    ]


def init_app(app: Flask) -> None:
    """After AppBuilder: Clerk's user info decides which CourseCove user signs in."""
    with app.app_context():
        security = app.appbuilder.sm
        if security.auth_type == AUTH_OAUTH and PROVIDER in (security.oauth_remotes or {}):
            security.oauth_user_info_getter(clerk_user_info)


def clerk_user_info(security, provider: str, response: dict) -> dict:
    """FAB's user-info hook: the ``username`` of the matched user, or ``""`` (refused)."""
    if provider != PROVIDER:
        return {"username": ""}
    claims = dict(response.get("userinfo") or {})  # the verified ID token's claims
    try:
        profile = security.oauth_remotes[PROVIDER].userinfo(token=response)
    except Exception as exc:  # the ID token alone still identifies the person
        log.warning("Clerk userinfo endpoint failed (%s); using the ID token's claims.", exc)
        profile = {}
    if profile.get("sub") == claims.get("sub"):
        claims.update(profile)
    user = user_for_sign_in(
        claims.get("sub"), claims.get("email"), claims.get("email_verified") in (True, "true")
    )
    log.info(
        "Clerk sign-in of %s (%s): %s",
        claims.get("sub"),
        claims.get("email"),
        f"user {user.id}" if user else "no matching CourseCove user",
    )
    return {"username": user.username if user else ""}


def user_for_sign_in(
    clerk_user_id: str | None, email: str | None, email_verified: bool
) -> User | None:
    """The synced user with this Clerk id; else the one with this verified e-mail address,
    unless that account is already linked to another Clerk user."""
    if clerk_user_id:
        link = db.session.get(ClerkUser, clerk_user_id)
        if link is not None:
            return db.session.get(User, link.user_id)
    if not (email and email_verified):
        return None
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.lower()))
    if user is None:
        return None
    other = db.session.scalar(
        sa.select(ClerkUser.clerk_user_id).where(ClerkUser.user_id == user.id)
    )
    return user if other is None or other == clerk_user_id else None
