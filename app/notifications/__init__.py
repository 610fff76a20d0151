"""The notification pipeline: every e-mail CourseCove sends goes through it.

- ``outbox``: ``queue_email(...)`` writes a row in the caller's transaction; after the
  commit its id is published to Celery.
- ``delivery``: the worker's claim / send / retry, and the beat sweeper.
- ``tasks``: the Celery tasks.
See docs/notifications.md.
"""

from __future__ import annotations

from flask import Flask

from app.notifications.outbox import queue_email


def init_app(app: Flask) -> None:
    """After Celery: register the tasks."""
    from app.notifications import tasks  # noqa: F401 (registers itself)


__all__ = ["init_app", "queue_email"]
