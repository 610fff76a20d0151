"""``flask webhooks retry <svix-id>`` and ``flask webhooks retry --failed``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.identity import service
from app.tenancy import privileged

webhooks_cli = AppGroup("webhooks", help="Clerk webhook deliveries.")


@webhooks_cli.command("retry")
@click.argument("svix_ids", nargs=-1)
@click.option("--failed", is_flag=True, help="Re-run every event whose status is failed.")
def retry_command(svix_ids: tuple[str, ...], failed: bool) -> None:
    """Re-run events now, in this process, one attempt each (no fast-path budget)."""
    if not svix_ids and not failed:
        raise click.UsageError("Name one or more svix-ids, or pass --failed.")
    with privileged():
        targets = list(svix_ids) + (service.failed_svix_ids() if failed else [])
        if not targets:
            click.echo("No failed events.")
        problems = 0
        for svix_id in targets:
            outcome = service.retry_now(svix_id)
            problems += outcome.status != service.COMPLETED
            detail = f" ({outcome.detail})" if outcome.detail else ""
            click.echo(f"{svix_id}: {outcome.status}{detail}")
    if problems:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(webhooks_cli)
