"""Binding each web request to its school, before anything else touches the database."""

from __future__ import annotations

from flask import Flask, abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import select

from app.static_assets import STATIC_ENDPOINTS
from app.tenancy.context import (
    reset_request_tenant,
    set_request_privileged,
    set_request_tenant,
)
from app.tenancy.hosts import parse_host

# Endpoints a signed-in non-member may still reach on a school's subdomain.
OPEN_TO_NON_MEMBERS = STATIC_ENDPOINTS | {
    "AuthDBView.login",
    "AuthDBView.logout",
    "AuthOAuthView.login",
    "AuthOAuthView.logout",
    "AuthOAuthView.oauth_authorized",
    "accounts.welcome",
    "accounts.forgot_password",
    "accounts.reset_password",
}


def bind_request_to_school() -> None:
    from app.extensions import db
    from app.models import Membership, Organization

    target = parse_host(request.host, current_app.config["APP_DOMAIN"])
    if not target.is_ours:
        abort(404, description="There is no CourseCove site at this address.")
    g.host_target = target
    g.organization = None
    g.membership = None
    if request.endpoint in STATIC_ENDPOINTS:  # the same files for every school: no queries
        return
    _refuse_views_of_the_other_host(target.is_platform)
    if target.is_platform:
        set_request_tenant(None)
        set_request_privileged(current_user.is_authenticated and _is_platform_admin(current_user))
        return

    organization = db.session.scalar(
        select(Organization).where(Organization.subdomain == target.subdomain)
    )
    if organization is None:
        abort(404, description=f"No school uses the address “{target.subdomain}”.")
    if not organization.active:
        abort(403, description=f"{organization.name} is not taking visitors at the moment.")
    # Switching the tenant ends this transaction, which would expire the school just read
    # and read it again: keep it out of the session meanwhile, then take it back as it is.
    db.session.expunge(organization)
    set_request_tenant(organization.id)
    set_request_privileged(False)
    g.organization = db.session.merge(organization, load=False)

    if current_user.is_authenticated:
        g.membership = db.session.scalar(
            select(Membership).where(
                Membership.organization_id == organization.id,
                Membership.user_id == current_user.id,
                Membership.active.is_(True),
            )
        )
        if g.membership is None and request.endpoint not in OPEN_TO_NON_MEMBERS:
            abort(403, description=f"Your account is not a member of {organization.name}.")


def _refuse_views_of_the_other_host(is_platform: bool) -> None:
    """School panels exist only on school subdomains, platform panels only on the platform."""
    view = getattr(current_app.view_functions.get(request.endpoint), "__self__", None)
    served_on = getattr(view, "served_on", None)
    if served_on == ("school" if is_platform else "platform"):
        abort(404)


def _is_platform_admin(user) -> bool:
    admin_role = current_app.config["AUTH_ROLE_ADMIN"]
    return any(role.name == admin_role for role in user.roles)


def init_app(app: Flask) -> None:
    """Register before Flask-AppBuilder so the tenant is bound before FAB loads the user."""
    app.before_request(bind_request_to_school)
    app.teardown_request(lambda exc: reset_request_tenant())

    @app.context_processor
    def inject_school():
        return {"current_school": g.get("organization"), "current_membership": g.get("membership")}
