"""``flask`` commands: ``flask coursecove setup`` and ``flask demo load``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.tenancy import privileged

coursecove_cli = AppGroup("coursecove", help="Set-up tasks for CourseCove.")
demo_cli = AppGroup("demo", help="Demo schools, people and bookings.")


@coursecove_cli.command("setup")
def setup_command() -> None:
    """Create Flask-AppBuilder's roles and permissions (after `flask db upgrade`)."""
    from app.extensions import appbuilder

    with privileged():
        appbuilder.sm.ensure_roles()
    click.echo("Roles and permissions are in place.")


@demo_cli.command("load")
def load_demo_command() -> None:
    """Load the demo schools (idempotent: running it twice changes nothing)."""
    from app.demo import load_demo

    with privileged():
        summary = load_demo()
    click.echo(summary)


def init_app(app: Flask) -> None:
    app.cli.add_command(coursecove_cli)
    app.cli.add_command(demo_cli)
