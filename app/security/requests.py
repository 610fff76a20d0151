"""Refusing malformed requests before any view or query sees them.

Each check answers a 4xx with a sentence instead of letting the input reach PostgreSQL or
Flask-AppBuilder, where it used to become a 500: a NUL byte (PostgreSQL text cannot hold
one), negative or huge FAB page numbers and sizes, FAB's file download route (CourseCove
stores no uploads), an action name the view does not have, a ``next`` that leaves the host,
and FAB's routes that change data when reached by GET.
"""

from __future__ import annotations

import re

from flask import Flask, abort, current_app, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from app.security.redirects import is_local_path

MAX_PAGE_SIZE = 100
_PAGING = re.compile(r"^(page|psize)_\w+$")
# FAB ModelView endpoints that change data: POST only (with a CSRF token).
_CHANGING_ENDPOINT = re.compile(r"\.(delete|action)$")


class DatabaseInteger(IntegerConverter):
    """``<int:...>`` in a URL: only what fits a PostgreSQL ``integer`` id, else 404."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _has_nul(values) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values.getlist(key)) for key in values
    )


def refuse_malformed_request() -> None:
    if (
        "\x00" in request.path
        or _has_nul(request.args)
        or (
            request.method == "POST"
            and request.mimetype != "application/json"
            and _has_nul(request.form)
        )
    ):
        abort(400, description="The request contains a NUL character, which no field accepts.")
    # A link with an off-site "next" is refused; a form posted to one (what the person typed
    # is in it) goes on, and the view falls back to its own page (``safe_next``).
    next_target = request.args.get("next")
    if next_target and not is_local_path(next_target):
        if request.method == "GET":
            abort(400, description="The “next” address must be a page of this site.")
        # Every view (ours and FAB's sign-in) then sees no "next" and uses its own default.
        args = request.args.copy()
        args.poplist("next")
        request.args = ImmutableMultiDict(args)
    for name, value in request.args.items():
        if _PAGING.match(name):
            _check_paging(name, value)

    endpoint = request.endpoint or ""
    view = getattr(current_app.view_functions.get(endpoint), "__self__", None)
    if view is None:
        return
    pk = request.view_args.get("pk")
    if pk is not None and not (pk.isdigit() and int(pk) <= 2**31 - 1):
        abort(404, description="There is no such row.")
    if endpoint.endswith(".download"):
        abort(404, description="There are no files to download here.")
    if _CHANGING_ENDPOINT.search(endpoint) and request.method not in ("POST",):
        abort(405, valid_methods=["POST"])
    actions = getattr(view, "actions", None)
    if endpoint.endswith(".action") and request.view_args.get("name") not in (actions or {}):
        abort(404, description="There is no such action.")
    if endpoint.endswith(".action_post") and request.form.get("action") not in (actions or {}):
        abort(404, description="There is no such action.")


def _check_paging(name: str, value: str) -> None:
    limit = MAX_PAGE_SIZE if name.startswith("psize_") else 10**6
    if not value.isdigit() or int(value) > limit or (name.startswith("psize_") and int(value) == 0):
        what = "page size" if name.startswith("psize_") else "page number"
        abort(400, description=f"The {what} “{value}” is not valid.")


def init_app(app: Flask) -> None:
    """Before the tenancy hook: nothing malformed reaches a query."""
    app.url_map.converters["int"] = DatabaseInteger
    app.before_request(refuse_malformed_request)
