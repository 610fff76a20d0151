"""Redis down under a real server: people still sign in and book, each booking's e-mails
wait in the outbox (``pending``) for the sweeper, and the sign-in limits keep applying from
the server's memory. The server runs in a process of its own against a ``redis-server`` only
this module uses, killed for real (SIGKILL) and started again after each test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa

from app.demo import DEMO_PASSWORD
from app.models import BookingAttendee, Notification
from tests.booking.conftest import confirm_url, http_login, school_host
from tests.conftest import LiveServer, server_settings
from tests.reliability.engines import RedisServer

PIANO_30 = "Piano lesson (30 min)"
ADA = "ada@musicschool.demo"
ANSWER_WITHIN_S = 3  # Redis calls have sub-second timeouts; more than this is a hang


@pytest.fixture(scope="module")
def site(app, own_redis: RedisServer, smtp_server) -> Iterator[LiveServer]:
    """The app served on its own Redis, with the rate limits and the lockout on."""
    from tests.live_server import serving

    settings = server_settings(
        app, REDIS_URL=own_redis.url, CELERY_BROKER_URL=own_redis.url, RATE_LIMITS=True
    )
    with serving(settings) as port:
        yield LiveServer(port)


@pytest.fixture
def redis_down(own_redis: RedisServer) -> Iterator[None]:
    own_redis.kill()
    yield
    own_redis.start()


def sign_in(site: LiveServer, host: str, password: str) -> requests.Response:
    return requests.post(
        site.url("/login/"),
        data={"username": ADA, "password": password},
        headers={"Host": host},
        allow_redirects=False,
        timeout=30,
    )


def test_sign_in_works_while_redis_is_down(app, site, music, redis_down):
    started = time.monotonic()
    response = sign_in(site, school_host(app, music), DEMO_PASSWORD)
    took = time.monotonic() - started

    landed = response.headers.get("Location", "")
    assert response.status_code == 302 and "/login" not in landed, (
        f"expected to be signed in, got {response.status_code} → {landed!r}: {response.text[-300:]}"
    )
    assert took < ANSWER_WITHIN_S, f"expected an answer at once, took {took:.1f} s"


def test_booking_succeeds_while_redis_is_down_and_its_emails_wait_in_the_outbox(
    app, site, music, free_slots, owner, own_redis
):
    ada = http_login(site, school_host(app, music), ADA, DEMO_PASSWORD)
    slot = free_slots(music, PIANO_30, days_ahead=20, instructor="Clara", mode="online")[0]
    own_redis.kill()
    try:
        started = time.monotonic()
        response = ada.post(
            site.url(confirm_url(music, PIANO_30, slot)), allow_redirects=False, timeout=30
        )
        took = time.monotonic() - started
    finally:
        own_redis.start()

    assert response.status_code == 302, (
        f"expected the booking to succeed, got {response.status_code}: {response.text[-300:]}"
    )
    attendee_id = int(response.headers["Location"].split("/bookings/")[1].split("?")[0])
    owner.expire_all()
    attendee = owner.get(BookingAttendee, attendee_id)
    mails = owner.scalars(sa.select(Notification).where(Notification.attendee_id == attendee_id))
    statuses = sorted(mail.status for mail in mails)
    assert attendee is not None and attendee.booking.starts_at == slot.start
    assert statuses and set(statuses) == {"pending"}, (
        f"expected the booking's e-mails recorded as pending for the sweeper, got {statuses}"
    )
    assert took < ANSWER_WITHIN_S, f"expected an answer at once, took {took:.1f} s"


def test_sign_in_limits_still_apply_from_memory_while_redis_is_down(app, site, music, redis_down):
    host = school_host(app, music)

    statuses = [sign_in(site, host, "not-the-password").status_code for _ in range(12)]

    assert 429 in statuses, f"expected the sign-in limit (10/minute) to refuse, got {statuses}"
    assert 500 not in statuses, f"expected no server error, got {statuses}"
