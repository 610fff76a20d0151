"""Friendly error pages: a person sees what went wrong, never a stack trace."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

FEED_NOT_FOUND = "Not found\n"


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def handle_http_error(error: HTTPException):
    if request.path.endswith(".ics") and error.code in (403, 404):
        # Calendar feeds: every refusal is the same short 404, whether the school, the token
        # or both are wrong, so probing tokens tells nothing about which schools exist.
        return FEED_NOT_FOUND, 404, {"Content-Type": "text/plain; charset=utf-8"}
    if _wants_json():
        return {"error": error.name, "message": error.description}, error.code
    # FAB's navbar reads g.user, which FAB's own before_request may not have set yet.
    g.setdefault("user", current_user)
    page = render_template(
        "error.html",
        error=error,
        appbuilder=current_app.appbuilder,
        base_template=current_app.appbuilder.base_template,
    )
    return page, error.code


def init_app(app: Flask) -> None:
    for code in (400, 403, 404, 405, 409, 422, 429):
        app.register_error_handler(code, handle_http_error)
