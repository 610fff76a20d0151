"""Logging: one line per request, a request id on every line, no e-mail addresses.

In production (``COURSECOVE_ENV=production``, or ``LOG_FORMAT=json``) every line is one JSON
object (``time``, ``level``, ``logger``, ``message`` and, within a request, ``request_id``,
``school``, ``organization_id``, ``method``, ``path``; the request's own line adds
``status`` and ``duration_ms``), for a log shipper to index. In development: text.

The request id is the caller's ``X-Request-ID`` when it looks like one (a proxy or load
balancer made it), else a new one; it is echoed in the response's ``X-Request-ID`` so a
person's error report can be found in the log. The path logged is the route's pattern
(``/calendars/feeds/<token>.ics``), never the concrete URL: feed tokens and account links are
secrets, and query strings may carry addresses. Anything that looks like an e-mail address is
replaced by ``<e-mail>`` in every line, whoever logged it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import TextIO

from flask import Flask, g, has_request_context, request

log = logging.getLogger("coursecove.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
REQUEST_FIELDS = ("request_id", "school", "organization_id", "method", "path")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def without_emails(text: str) -> str:
    return _EMAIL.sub("<e-mail>", text)


def request_fields() -> dict[str, object]:
    """What a log line says about the request it was written in (nothing outside one)."""
    if not has_request_context():
        return {}
    from app.tenancy.context import current_org_id  # no query: the request's bound tenant

    target = g.get("host_target")
    rule = request.url_rule
    return {
        "request_id": g.get("request_id"),
        "school": target.subdomain if target is not None else None,
        "organization_id": current_org_id(),
        "method": request.method,
        "path": rule.rule if rule is not None else "(no route)",
    }


class RequestContext(logging.Filter):
    """Adds the request's fields to every record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = request_fields()
        for name in REQUEST_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, fields.get(name))
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        for name in REQUEST_FIELDS:  # records that bypassed the handler's filter
            if not hasattr(record, name):
                setattr(record, name, None)
        return without_emails(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in (*REQUEST_FIELDS, "status", "duration_ms"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return without_emails(json.dumps(entry, default=str))


def json_logs_wanted(config: dict) -> bool:
    return config.get("LOG_FORMAT") == "json"


def configure(config: dict, stream: TextIO | None = None) -> None:
    """The root logger's one handler (stderr unless ``stream``), JSON or text; called by
    ``create_app``."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContext())
    handler.setFormatter(JsonFormatter() if json_logs_wanted(config) else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "coursecove", False)]:
        root.removeHandler(old)
    handler.coursecove = True
    root.addHandler(handler)
    root.setLevel(config.get("LOG_LEVEL", "INFO"))


def _start_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response):
    request_id = g.get("request_id")
    if request_id is None:  # a response made before our first hook ran
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    log.log(
        level,
        "%s %s %d",
        request.method,
        request_fields()["path"],
        response.status_code,
        extra={"status": response.status_code, "duration_ms": duration_ms},
    )
    return response


def init_app(app: Flask) -> None:
    """First of all hooks: every other hook's log lines (and refusals) get the request id."""
    configure(app.config)
    app.before_request(_start_request)
    app.after_request(_finish_request)
