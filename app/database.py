"""Bringing a database up to date: one path for ``make run``, the tests and the benchmarks."""

from __future__ import annotations

from flask import Flask
from flask_migrate import upgrade

from app.tenancy import privileged


def prepare_database(app: Flask, *, with_demo: bool = False) -> str | None:
    """Apply migrations, create FAB's roles and permissions, optionally load the demo."""
    from app.extensions import db

    with app.app_context(), privileged():
        upgrade(revision="heads")
        _sync_app_role_password(app)
        appbuilder = app.appbuilder
        appbuilder.sm.ensure_roles()
        # Permissions for every registered view; the platform admin role gets them all.
        # FAB commits after each of its ~450 writes; unexpired, the admin role's permissions
        # are not read again after each one (a quarter of the statements, ~1 s).
        db.session().expire_on_commit = False
        try:
            appbuilder.add_permissions(update_perms=True)
            db.session.commit()
        finally:
            db.session().expire_on_commit = True
            db.session.expire_all()
        if with_demo:
            from app.demo import load_demo

            return load_demo()
    return None


def _sync_app_role_password(app: Flask) -> None:
    """The application role logs in with the configured password, also when the role was
    created earlier with another one (``make run`` now generates its own)."""
    import os

    import sqlalchemy as sa

    from app.extensions import db
    from app.tenancy.rls import set_app_role_password

    if not os.environ.get("APP_DATABASE_URL"):
        db.session.execute(sa.text(set_app_role_password(app.config["APP_DB_PASSWORD"])))
