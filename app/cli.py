"""``flask`` commands: ``flask coursecove setup`` and ``flask demo load``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.tenancy import privileged

coursecove_cli = AppGroup("coursecove", help="Set-up tasks for CourseCove.")
demo_cli = AppGroup("demo", help="Demo schools, people and bookings.")


@coursecove_cli.command("setup")
@click.option("--demo/--no-demo", default=False, help="Also load the demo schools.")
def setup_command(demo: bool) -> None:
    """Apply migrations, create roles and permissions, optionally load the demo."""
    from app.database import prepare_database

    summary = prepare_database(current_app, with_demo=demo)
    click.echo(summary or "Database is up to date; roles and permissions are in place.")


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
