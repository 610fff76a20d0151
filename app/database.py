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
        appbuilder = app.appbuilder
        appbuilder.sm.ensure_roles()
        # Permissions for every registered view; the platform admin role gets them all.
        appbuilder.add_permissions(update_perms=True)
        db.session.commit()
        if with_demo:
            from app.demo import load_demo

            return load_demo()
    return None
