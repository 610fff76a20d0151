"""The Celery application, bound to the Flask app so tasks run inside its context."""

from __future__ import annotations

from celery import Celery, Task
from celery.signals import setup_logging, worker_process_init
from flask import Flask, has_app_context

celery_app = Celery("coursecove")


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # Called in-process (a test, a CLI command): keep the caller's app, which may
            # not be the last one created.
            if has_app_context():
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        # kombu's Redis transport, fixed to survive a Redis restart (see app/broker.py).
        broker_transport="app.broker:Transport",
        # Keep trying for as long as Redis is away (the default gives up after 100 tries).
        broker_connection_max_retries=None,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        beat_schedule=app.config.get("CELERY_BEAT_SCHEDULE", {}),
    )
    celery_app.Task = FlaskTask
    celery_app.set_default()

    @worker_process_init.connect(weak=False, dispatch_uid="coursecove-fresh-db-pools")
    def fresh_database_pools(**_):
        # A prefork child must not reuse the parent's pooled connections (shared sockets).
        from app.extensions import db

        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)

    if app.config.get("LOG_FORMAT") == "json":
        # A receiver here stops Celery replacing the root logger's handler: the worker and
        # beat then log one JSON object a line too (app/logs.py).
        setup_logging.connect(_keep_application_logging, weak=False)

    app.extensions["celery"] = celery_app
    return celery_app


def _keep_application_logging(**_) -> None:
    """create_app() already configured logging; Celery leaves it alone."""
