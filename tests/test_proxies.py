"""TRUSTED_PROXIES: behind a TLS proxy the visitor's address and scheme come from its
X-Forwarded-* headers, and only then (app/__init__.py, docs/deployment.md)."""

from __future__ import annotations

import pytest
from flask import Flask, request

from app import _behind_proxies


def _seen_by_app(trusted: int) -> tuple[str, str]:
    app = Flask("proxy-probe")
    app.config["TRUSTED_PROXIES"] = trusted
    app.get("/")(lambda: f"{request.remote_addr} {request.scheme}")
    _behind_proxies(app)
    response = app.test_client().get(
        "/",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    address, scheme = response.get_data(as_text=True).split()
    return address, scheme


@pytest.mark.parametrize(
    ("trusted", "expected"), [(0, ("127.0.0.1", "http")), (1, ("203.0.113.9", "https"))]
)
def test_forwarded_headers_are_believed_only_behind_trusted_proxies(trusted, expected):
    got = _seen_by_app(trusted)
    assert got == expected, f"TRUSTED_PROXIES={trusted}: expected {expected}, got {got}"
