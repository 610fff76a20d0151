"""Security headers on every response: pages, errors, JSON and static files."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("musicschool", "/book/"),
        ("musicschool", "/login/"),
        ("musicschool", "/no-such-page"),
        ("musicschool", "/api/availability?type=1"),
        (None, "/"),
        ("musicschool", "/static/appbuilder/css/bootstrap.min.css"),
    ],
)
def test_every_response_carries_the_security_headers(visit, host, path):
    response = visit(host).get(path)
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy and "script-src 'self' 'nonce-" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"


def test_the_inline_script_carries_this_responses_nonce(visit):
    response = visit("musicschool").get("/book/")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'<script nonce="{nonce}">' in response.get_data(as_text=True)
