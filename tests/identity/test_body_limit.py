"""The body-size limit holds for a chunked body (no Content-Length), on a real server."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from app.identity.webhooks import MAX_BODY_BYTES
from tests.conftest import server_settings
from tests.identity.clerk import SECRET, WEBHOOK_PATH

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = b"x" * 65536


@pytest.fixture(scope="module")
def webhook_server(app) -> Iterator[int]:
    from tests.live_server import serving

    with serving(server_settings(app, CLERK_WEBHOOK_SECRET=SECRET)) as port:
        yield port


def post_chunked(
    port: int, path: str, total: int, content_type: str = "application/json"
) -> tuple[bytes, int]:
    """POST ``total`` bytes chunked, stopping as soon as the server answers; returns the
    answer's first bytes and how much was sent by then."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: coursecove.test\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: {content_type}\r\nsvix-id: msg_chunked\r\n"
        "svix-timestamp: 1\r\nsvix-signature: v1,junk\r\n\r\n"
    ).encode()
    frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head)
        while sent < total:
            readable, writable, _ = select.select([conn], [conn], [], 10)
            if readable:
                answer = conn.recv(4096)
                break
            if writable:
                try:
                    conn.sendall(frame)
                except OSError:  # the server closed the connection after answering
                    break
                sent += len(CHUNK)
        if not answer:
            try:
                conn.sendall(b"0\r\n\r\n")
                answer = conn.recv(4096)
            except OSError:
                pass
    return answer, sent


def test_chunked_body_over_the_limit_is_a_413_without_reading_it_all(webhook_server):
    answer, sent = post_chunked(webhook_server, WEBHOOK_PATH, HUNDRED_MB)

    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 413 " in status_line, f"expected 413, got {status_line!r} after {sent:,} bytes"
    assert sent < 32 * 1024 * 1024, (
        f"expected the server to stop reading near {MAX_BODY_BYTES:,} bytes, "
        f"but it took {sent:,} of {HUNDRED_MB:,} before answering"
    )


def test_every_route_refuses_a_chunked_upload_over_max_content_length(app, platform):
    """Outside the webhook too: a multipart file (no Content-Length) would otherwise be
    spooled to disk whole; Werkzeug's form memory limit does not cover files."""
    import io

    limit = app.config["MAX_CONTENT_LENGTH"]
    boundary = "coursecove-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"x" * (limit + 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )

    response = platform.post(
        "/login/",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 413, f"expected 413, got {response.status_code}"
