"""CourseCove: scheduling and booking for music schools, yoga studios and tutoring centres."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config_object: type | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    # Imported here, not at module top: Config reads the environment when first imported,
    # and the launcher sets that environment (embedded engines) after importing this package.
    from config import Config, config_from_environment

    app = Flask(__name__)
    app.config.from_object(config_object or config_from_environment())
    app.config.update(overrides or {})
    Config.finalize(app.config)
    from app.identity.oidc import configure_clerk_sign_in

    configure_clerk_sign_in(app.config)  # before AppBuilder reads AUTH_TYPE
    from app import errors, health, logs, school_time, security, static_assets

    logs.init_app(app)  # first: every later hook's lines and refusals carry the request id
    from app.extensions import csrf, db, limiter, migrate
    from app.tenancy import privileged
    from app.tenancy import requests as tenancy_requests
    from app.tenancy.appbuilder import SiteAppBuilder, SiteMenu

    db.init_app(app)
    migrate.init_app(app, db)
    limiter.init_app(app)
    csrf.init_app(app)
    security.init_app(app)
    # Before FAB: the request's school must be bound before FAB loads the signed-in user.
    tenancy_requests.init_app(app)
    errors.init_app(app)
    school_time.init_app(app)
    static_assets.init_app(app)

    # FAB reads its security tables while it sets up (owner connection, explicitly); it writes
    # no permissions here (FAB_UPDATE_PERMS): prepare_database() does, once per release.
    with app.app_context(), privileged():
        appbuilder = SiteAppBuilder(app, db.session, menu=SiteMenu())
        _register_views(appbuilder)
        db.session.commit()

    from app import cli, identity, notifications
    from app.tasks import init_celery

    cli.init_app(app)
    init_celery(app)
    identity.init_app(app)
    notifications.init_app(app)
    security.init_after_views(app)  # last: limits attach to the registered blueprints
    _behind_proxies(app)
    health.init_app(app)  # outermost: /healthz answers before anything else runs
    return app


def _behind_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies (a TLS terminator, a load balancer), believe their
    X-Forwarded-For/-Proto: rate limits key on the visitor's address, links say https."""
    count = app.config.get("TRUSTED_PROXIES", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def _register_views(appbuilder) -> None:
    from app import accounts, booking, branding, calendars
    from app.admin import views as admin_views
    from app.identity import views as identity_views
    from app.notifications import views as notification_views
    from app.platform import views as platform_views
    from app.portal import views as portal_views

    admin_views.register(appbuilder)
    branding.register(appbuilder)
    portal_views.register(appbuilder)
    platform_views.register(appbuilder)
    booking.register(appbuilder)
    calendars.register(appbuilder)
    identity_views.register(appbuilder)
    accounts.register(appbuilder)
    notification_views.register(appbuilder)
