"""``GET /healthz`` for load balancers and process managers: 200 ``{"status": "ok"}`` when
PostgreSQL and Redis answer within a second or two, else 503 ``{"status": "degraded"}``.

It answers in front of Flask (a WSGI wrapper), so no school is looked up, no session cookie
is read or set, no sign-in, rate limit or CSRF applies, and a load balancer may call it by IP
address. The response never says what is down nor where it lives: that goes to the log
(component and error class only, never a connection string).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable

import redis
import sqlalchemy as sa
from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

PATH = "/healthz"
DATABASE_TIMEOUT_S = 2  # libpq counts whole seconds, 2 at least
REDIS_TIMEOUT_S = 1.0


class HealthCheck:
    """WSGI middleware: ``/healthz`` here, everything else to the application."""

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.app, self.wsgi_app = app, wsgi_app
        self._lock = threading.Lock()
        self._engines: dict[str, sa.Engine] = {}
        self._redis: dict[str, redis.Redis] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return self.wsgi_app(environ, start_response)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _respond(start_response, "405 Method Not Allowed", {"status": "GET only"})
        down = self.components_down()
        if down:
            log.warning("Health check: degraded (%s)", "; ".join(down))
            return _respond(start_response, "503 Service Unavailable", {"status": "degraded"})
        return _respond(start_response, "200 OK", {"status": "ok"})

    def components_down(self) -> list[str]:
        """``["database: OperationalError", ...]``: what did not answer, and the error class."""
        down = []
        checks = [("database", self._check_database)]
        checks += [("redis", lambda url=url: self._check_redis(url)) for url in self._redis_urls()]
        for component, check in checks:
            try:
                check()
            except Exception as error:  # any failure means "not healthy"; the class says which
                down.append(f"{component}: {type(error).__name__}")
        return down

    def _redis_urls(self) -> list[str]:
        config = self.app.config
        urls = [config["REDIS_URL"], config.get("CELERY_BROKER_URL") or config["REDIS_URL"]]
        return [url for url in dict.fromkeys(urls) if url.startswith(("redis://", "rediss://"))]

    def _check_database(self) -> None:
        # The web application's own role, on a connection of its own: a full pool or a
        # stuck request must not make the check wait, nor the check take a request's slot.
        url = self.app.config["APP_DATABASE_URL"]
        with self._engine(url).connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def _check_redis(self, url: str) -> None:
        self._client(url).ping()

    def _engine(self, url: str) -> sa.Engine:
        with self._lock:
            if url not in self._engines:
                self._engines[url] = sa.create_engine(
                    url,
                    poolclass=NullPool,
                    connect_args={
                        "connect_timeout": DATABASE_TIMEOUT_S,
                        "options": f"-c statement_timeout={DATABASE_TIMEOUT_S * 1000}",
                    },
                )
            return self._engines[url]

    def _client(self, url: str) -> redis.Redis:
        with self._lock:
            if url not in self._redis:
                self._redis[url] = redis.Redis.from_url(
                    url,
                    socket_connect_timeout=REDIS_TIMEOUT_S,
                    socket_timeout=REDIS_TIMEOUT_S,
                    retry=Retry(NoBackoff(), 0),  # one try: the default retries for seconds
                )
            return self._redis[url]


def _respond(start_response: Callable, status: str, body: dict) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [payload]


def init_app(app: Flask) -> None:
    app.wsgi_app = HealthCheck(app, app.wsgi_app)
