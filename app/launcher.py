"""``make run``: everything CourseCove needs on one machine, stopped together with Ctrl-C.

Starts embedded PostgreSQL and Redis when ``DATABASE_URL`` / ``REDIS_URL`` are unset (and keeps
e-mail in the local outbox when ``MAIL_SERVER`` is unset), applies
migrations, loads the demo (idempotently), then runs the web server, a Celery worker and
Celery beat as child processes.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

INSTANCE_DIR = Path(
    os.environ.get("COURSECOVE_INSTANCE_DIR") or Path(__file__).resolve().parent.parent / "instance"
)
log = logging.getLogger("coursecove.launcher")


SECRET_NAMES = ("SECRET_KEY", "APP_DB_PASSWORD")


def instance_secrets(instance_dir: Path) -> dict[str, str]:
    """This copy's own SECRET_KEY and APP_DB_PASSWORD: random, made on the first run, kept
    in ``instance/secrets.json`` (readable by the owner only) for the next runs."""
    path = instance_dir / "secrets.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    if not all(kept.get(name) for name in SECRET_NAMES):
        kept = {name: kept.get(name) or secrets.token_urlsafe(32) for name in SECRET_NAMES}
        path.touch(mode=0o600)
        path.write_text(json.dumps(kept, indent=2) + "\n")
    return {name: kept[name] for name in SECRET_NAMES}


def _children(env: dict[str, str], port: str) -> list[subprocess.Popen]:
    python = sys.executable
    commands = {
        "web": [
            python,
            "-m",
            "flask",
            "--app",
            "app:create_app",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--no-reload",
        ],
        "worker": [
            python,
            "-m",
            "celery",
            "-A",
            "celery_worker",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
        ],
        "beat": [
            python,
            "-m",
            "celery",
            "-A",
            "celery_worker",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(INSTANCE_DIR / "celerybeat-schedule"),
        ],
    }
    return [subprocess.Popen(command, env=env) for command in commands.values()]


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from app.local_engines import environment_with_engines

    INSTANCE_DIR.mkdir(exist_ok=True)
    env, engines = environment_with_engines(INSTANCE_DIR)
    for name, value in instance_secrets(INSTANCE_DIR).items():
        env.setdefault(name, value)  # a value set in the environment wins
    port = env.setdefault("PORT", "5000")
    env.setdefault("APP_DOMAIN", f"localhost:{port}")
    if not env.get("MAIL_SERVER"):
        # No mail server of your own: e-mails go to the local outbox (admin panels).
        env.setdefault("MAIL_BACKEND", "outbox")
    os.environ.update(env)  # before config is imported: Config reads the environment

    from app import create_app
    from app.database import prepare_database

    demo_logins = prepare_database(create_app(), with_demo=True)
    children = _children(env, port)
    domain = env["APP_DOMAIN"]
    print(
        f"\nCourseCove is running (Ctrl-C stops everything):\n"
        f"  platform      http://{domain}\n"
        f"  music school  http://musicschool.{domain}\n"
        f"  yoga studio   http://yogastudio.{domain}\n\n{demo_logins}\n",
        flush=True,
    )

    # SIGINT explicitly too: a process started in the background by a non-interactive shell
    # inherits SIGINT as ignored, and Python then installs no KeyboardInterrupt for Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        log.error("A process stopped unexpectedly; stopping the rest.")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(children)
        del engines  # embedded engines stop when their handles go


if __name__ == "__main__":
    sys.exit(main())
