"""Static files (ours and Flask-AppBuilder's) that browsers keep instead of asking again.

Every page links about twenty of them. Without caching, the browser asks for each of them again
on every page. Each URL that ``url_for`` builds names the file's version (``?v=`` from its
modification time and size), so such a URL always means the same bytes and can be cached for a
year. A deploy that changes a file changes its URL. A URL without the version (a font linked
from a stylesheet) is still checked with the server each time.
"""

from __future__ import annotations

import os
from functools import cache

from flask import Flask, request
from werkzeug.security import safe_join

STATIC_ENDPOINTS = frozenset({"static", "appbuilder.static"})
A_YEAR = 365 * 24 * 3600


@cache
def _version(folder: str, filename: str) -> str | None:
    # Cached per process: a deploy restarts the processes, and with them the versions.
    path = safe_join(folder, filename)
    if path is None or not os.path.isfile(path):
        return None
    stat = os.stat(path)
    return f"{int(stat.st_mtime):x}-{stat.st_size:x}"


def _folder(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    blueprint = app.blueprints.get(endpoint.partition(".")[0])
    return blueprint.static_folder if blueprint else None


def init_app(app: Flask) -> None:
    @app.url_defaults
    def name_the_version(endpoint: str, values: dict) -> None:
        if endpoint not in STATIC_ENDPOINTS or "filename" not in values:
            return
        folder = _folder(app, endpoint)
        version = folder and _version(folder, values["filename"])
        if version:
            values.setdefault("v", version)

    @app.after_request
    def cache_versioned_files(response):
        folder = request.endpoint in STATIC_ENDPOINTS and _folder(app, request.endpoint)
        filename = (request.view_args or {}).get("filename")
        versioned = folder and filename and request.args.get("v") == _version(folder, filename)
        if versioned and response.status_code in (200, 304):
            response.cache_control.public = True
            response.cache_control.no_cache = None
            response.cache_control.max_age = A_YEAR
            response.cache_control.immutable = True
        return response
