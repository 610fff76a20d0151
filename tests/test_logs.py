"""Logs: a request id on every line and in the response, one JSON object a line in
production, the route's pattern instead of the URL, no e-mail addresses (app/logs.py)."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from app import logs
from config import ProductionConfig


@pytest.fixture
def json_lines(app):
    """Switch the root logger to JSON into a buffer; ``json_lines()`` → the objects so far."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    buffer = io.StringIO()
    logs.configure({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}, stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.handlers[:] = saved
    root.setLevel(level)


def test_production_logs_are_json():
    assert ProductionConfig.LOG_FORMAT == "json", f"got {ProductionConfig.LOG_FORMAT!r}"


def test_a_request_logs_one_json_line_with_its_id_school_route_status_and_duration(
    visit, org_ids, json_lines
):
    visitor = visit("musicschool")
    response = visitor.get("/book/?note=ada@musicschool.demo", headers={"X-Request-ID": "lb-42.a"})
    lines = [line for line in json_lines() if line["logger"] == "coursecove.requests"]
    assert response.headers.get("X-Request-ID") == "lb-42.a", dict(response.headers)
    assert len(lines) == 1, f"expected one request line, got {lines}"
    line = lines[0]
    expected = {
        "level": "INFO",
        "request_id": "lb-42.a",
        "school": "musicschool",
        "organization_id": org_ids["musicschool"],
        "method": "GET",
        "path": "/book/",
        "status": response.status_code,
    }
    assert {key: line.get(key) for key in expected} == expected, line
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0, line
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"]), line
    assert "@" not in json.dumps(line), f"an address reached the log: {line}"


def test_secret_tokens_in_urls_are_logged_as_the_route_pattern(visit, json_lines):
    visit("musicschool").get("/reset-password/s3cr3t-reset-token")
    lines = [line for line in json_lines() if line["logger"] == "coursecove.requests"]
    assert [line["path"] for line in lines] == ["/reset-password/<token>"], lines
    assert "s3cr3t" not in json.dumps(json_lines()), "the reset token reached the log"


@pytest.mark.parametrize(
    "given",
    ["", "has space", "x" * 200, "<script>", "tab\there", "semi;colon", "-starts-with-dash"],
)
def test_a_request_id_that_does_not_look_like_one_is_replaced(visit, given):
    response = visit(None).get("/", headers={"X-Request-ID": given})
    request_id = response.headers.get("X-Request-ID", "")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), f"for {given!r} got {request_id!r}"


def test_every_line_in_a_request_carries_its_id_and_school(app, org_ids, json_lines):
    with app.test_request_context(
        "/book/",
        base_url="http://musicschool.coursecove.test",
        headers={"X-Request-ID": "probe-1"},
    ):
        app.preprocess_request()  # the request's own hooks: id, then its school
        logging.getLogger("app.probe").warning("probing for %s", "grace@musicschool.demo")
    probe = [line for line in json_lines() if line["logger"] == "app.probe"]
    got = [(p["request_id"], p["school"], p["organization_id"], p["message"]) for p in probe]
    expected = [("probe-1", "musicschool", org_ids["musicschool"], "probing for <e-mail>")]
    assert got == expected, f"expected {expected}, got {got}"


def test_text_logs_hide_addresses_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "to %s", ("ada@music.demo",), None)
    text = logs.TextFormatter().format(record)
    assert "ada@" not in text and "<e-mail>" in text, text
