"""gunicorn settings for ``make run``, ``make serve``, the Procfile and the systemd unit:
``gunicorn -c app/gunicorn_conf.py 'app:create_app()'``.

The application is built once in the master (``preload_app``) and its objects are frozen out
of the cycle collector before the workers fork (``gc.freeze()``): the workers share those pages
copy-on-write instead of each touching (and so copying) them on every collection, and a
collection pauses a request for less. After the fork each worker drops the database
connections it inherited (pooled sockets must never be shared between processes).

Sized for the 2-core machine this runs on: 2 workers x 4 threads (``gthread``), so a request
waiting for PostgreSQL does not hold a core. ``WEB_CONCURRENCY`` / ``WEB_THREADS`` change it
(rule of thumb: workers = cores, threads = 4).
"""

from __future__ import annotations

import gc
import os

bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
preload_app = True
# A request that takes longer than this is stuck: the worker is replaced.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Workers are replaced now and then so a slow leak cannot grow without bound; the jitter keeps
# them from restarting together.
max_requests = 5000
max_requests_jitter = 500
# gunicorn's own access log is off: the application logs one line per request, with the
# request id and the school (app/logs.py). Errors go to stderr with the rest.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
_production = os.environ.get("COURSECOVE_ENV") == "production"
if os.environ.get("LOG_FORMAT", "json" if _production else "text") == "json":
    # gunicorn's own lines as JSON objects too; the root logger is left to the application.
    _json_to_stderr = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "stream": "ext://sys.stderr",
    }
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": loglevel.upper(), "handlers": []},
        "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
        "handlers": {"console": _json_to_stderr, "error_console": _json_to_stderr},
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error_console"],
                "propagate": False,
            },
            "gunicorn.access": {
                "level": loglevel.upper(),
                "handlers": ["console"],
                "propagate": False,
            },
        },
    }
# Behind a TLS proxy on the same machine only: trust its X-Forwarded-* (see docs/deployment.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def when_ready(server) -> None:
    """Master, application loaded, no worker forked yet: move everything alive now into the
    permanent generation so the workers' collections never scan (and copy) it."""
    gc.collect()
    gc.freeze()
    server.log.info(
        "Application preloaded; %d objects frozen out of the collector", gc.get_freeze_count()
    )


def post_fork(server, worker) -> None:
    """Each worker: forget the database connections inherited from the master without closing
    them (closing would also close the master's sockets, ``close=False``)."""
    from app.extensions import db

    flask_app = server.app.wsgi()  # the preloaded application
    with flask_app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
