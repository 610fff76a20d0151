"""Friendly error pages: a person sees what went wrong, never a stack trace.

Every 4xx gets the page (JSON under ``/api/``); anything unforeseen becomes a 500 page that
says so, after the request's transaction is rolled back, so nothing half-done is written.
A database that cannot be reached (restarting, failing over) is a 503 with ``Retry-After``,
on a page that needs no database to render (docs/reliability.md).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, render_template, request
from flask.globals import request_ctx
from flask_login import current_user
from markupsafe import escape
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, ServiceUnavailable

log = logging.getLogger(__name__)

FEED_NOT_FOUND = "Not found\n"


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


# Headers an error must keep (werkzeug puts them on the exception, e.g. a lockout's wait).
KEPT_HEADERS = ("Retry-After", "Allow", "WWW-Authenticate")


def handle_http_error(error: HTTPException):
    headers = [(k, v) for k, v in error.get_headers() if k in KEPT_HEADERS]
    if request.path.endswith(".ics") and error.code in (403, 404):
        # Calendar feeds: every refusal is the same short 404, whether the school, the token
        # or both are wrong, so probing tokens tells nothing about which schools exist.
        return FEED_NOT_FOUND, 404, {"Content-Type": "text/plain; charset=utf-8"}
    if _wants_json():
        return {"error": error.name, "message": error.description}, error.code, headers
    if request_ctx.url_adapter is None:
        # The Host header could not be routed at all (e.g. a label over 63 characters): the
        # layout's links cannot be built, so a plain page.
        page = f"<!doctype html><title>{error.code}</title><p>{escape(error.description)}</p>"
        return page, error.code, headers
    # FAB's navbar reads g.user, which FAB's own before_request may not have set yet.
    g.setdefault("user", current_user)
    page = render_template(
        "error.html",
        error=error,
        appbuilder=current_app.appbuilder,
        base_template=current_app.appbuilder.base_template,
    )
    return page, error.code, headers


def _rollback() -> None:
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the page must still be served
        log.exception("rollback after an error failed")


def handle_unstorable_value(error: DataError):
    """PostgreSQL refused a value (out of range, not storable): the visitor's input."""
    _rollback()
    log.warning("refused a value PostgreSQL cannot store: %s", error.orig)
    return handle_http_error(
        BadRequest("A value in the request is out of range or cannot be stored.")
    )


UNAVAILABLE = (
    "CourseCove cannot reach its database for a moment, so nothing was changed. "
    "Please try again in a few seconds."
)
RETRY_AFTER_S = 5
# SQLSTATE classes of a server going away: 08 connection exception, 57P operator
# intervention (shutdown, "starting up"). No SQLSTATE at all: the connection itself failed.
UNAVAILABLE_SQLSTATES = ("08", "57P")


def database_unreachable(error: OperationalError | InterfaceError) -> bool:
    """The server went away (vs. a statement's own failure, e.g. a deadlock)."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    return (
        error.connection_invalidated
        or sqlstate is None
        or sqlstate.startswith(UNAVAILABLE_SQLSTATES)
    )


def handle_database_error(error: OperationalError | InterfaceError):
    """503 while the database is unreachable: at once, never a hang, never a half-write (the
    transaction died with its connection). Rendered without the layout and the template
    context, which read the database (menus, the signed-in user)."""
    if not database_unreachable(error):
        raise error  # Flask's own path: logged, then the friendly 500 (raised under tests)
    _rollback()
    log.warning("database unreachable: %s", error.orig)
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if _wants_json():
        return {"error": ServiceUnavailable().name, "message": UNAVAILABLE}, 503, headers
    # Straight from the environment: render_template's context processors load the signed-in
    # user, from the database.
    page = current_app.jinja_env.get_template("unavailable.html").render(message=UNAVAILABLE)
    return page, 503, headers


def handle_unforeseen(error: InternalServerError):
    """Flask has logged the exception already; the visitor gets a sentence."""
    _rollback()
    return handle_http_error(
        InternalServerError(
            "Something went wrong on our side and nothing was changed. Please try again; "
            "if it keeps happening, tell the school."
        )
    )


def init_app(app: Flask) -> None:
    for code in (400, 403, 404, 405, 409, 413, 422, 429):
        app.register_error_handler(code, handle_http_error)
    app.register_error_handler(DataError, handle_unstorable_value)
    app.register_error_handler(OperationalError, handle_database_error)
    app.register_error_handler(InterfaceError, handle_database_error)
    app.register_error_handler(InternalServerError, handle_unforeseen)
