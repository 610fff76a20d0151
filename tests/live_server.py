"""A real threaded werkzeug server on loopback, in a process of its own.

Its own process so that fifty client threads in the test do not share one interpreter lock
with the fifty request threads they are measuring. It builds its own app from the same
database and settings the test session uses.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.local_engines import free_port


def _serve(overrides: dict[str, Any], port: int, ready) -> None:
    from werkzeug.serving import make_server

    from app import create_app
    from config import TestConfig

    app = create_app(TestConfig, overrides)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", port, app, threaded=True)
    ready.set()
    server.serve_forever()


@contextmanager
def serving(overrides: dict[str, Any], port: int | None = None) -> Iterator[int]:
    """Serve the app built with ``overrides`` on 127.0.0.1; yields the port."""
    port = port or free_port()
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(
        target=_serve, args=({"LOG_LEVEL": "WARNING", **overrides}, port, ready), daemon=True
    )
    process.start()
    try:
        if not ready.wait(90):
            raise RuntimeError("the live server did not start within 90 s")
        yield port
    finally:
        process.terminate()
        process.join(10)
