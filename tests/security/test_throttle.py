"""Brute force: limits answer 429 with Retry-After, and the per-account lockout stops
guessing without letting an attacker keep the owner out for long."""

from __future__ import annotations

import itertools

import pytest

from app.demo import DEMO_PASSWORD
from app.extensions import limiter
from app.security import throttle

STUDENT = "ada@musicschool.demo"
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture
def limits_on(app, monkeypatch):
    """Limits and lockout on (TestConfig has them off), with clean counters before and after."""

    def clean():
        limiter.reset()
        with app.app_context():
            store = throttle._redis()
            for key in store.scan_iter("lockout:*"):
                store.delete(key)

    clean()
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    yield
    clean()


def _sign_in(visit, password: str, address: str, email: str = STUDENT):
    return visit("musicschool").post(
        "/login/",
        data={"username": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _refused(response) -> bool:
    """A wrong password: back to the sign-in form (FAB redirects there with a message)."""
    return response.status_code == 302 and "/login" in response.headers["Location"]


def _retry_after(response) -> int:
    assert response.status_code == 429, f"expected 429, got {response.status_code}"
    return int(response.headers["Retry-After"])


def test_wrong_passwords_lock_the_account_for_that_address_only(visit, limits_on):
    attacker, owner = next(_addresses), next(_addresses)
    for _ in range(throttle.PAIR_FAILURES):
        assert _refused(_sign_in(visit, "guess", attacker))

    # Even the right password is refused from there now, for the lock's whole length...
    locked = _sign_in(visit, DEMO_PASSWORD, attacker)
    assert 0 < _retry_after(locked) <= throttle.PAIR_LOCK_S
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    # ...while the owner, elsewhere, signs in as usual.
    signed_in = _sign_in(visit, DEMO_PASSWORD, owner)
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]


def test_guesses_from_many_addresses_lock_the_account_only_briefly(visit, limits_on):
    for _ in range(throttle.ACCOUNT_FAILURES):
        assert _refused(_sign_in(visit, "guess", next(_addresses)))
    assert _retry_after(_sign_in(visit, DEMO_PASSWORD, next(_addresses))) <= 60
    assert throttle.ACCOUNT_LOCK_S <= 60


def test_sign_in_attempts_from_one_address_are_rate_limited(visit, limits_on):
    address = next(_addresses)
    answers = [
        _sign_in(visit, "guess", address, email=f"nobody{n}@example.com").status_code
        for n in range(15)
    ]
    assert answers[:10] == [302] * 10 and 429 in answers[10:], answers
    assert _retry_after(_sign_in(visit, "guess", address)) > 0


def test_sign_up_is_rate_limited(visit, limits_on):
    address = next(_addresses)
    answers = [
        visit("musicschool")
        .post("/signup", data={"email": "x"}, environ_base={"REMOTE_ADDR": address})
        .status_code
        for _ in range(22)
    ]
    assert 429 in answers and answers[0] == 400, answers


def test_booking_posts_are_rate_limited_per_person(visit, limits_on):
    student = visit("musicschool", STUDENT)
    answers = [student.post("/bookings/999999/cancel").status_code for _ in range(32)]
    assert answers[0] == 404 and answers[-1] == 429, answers


@pytest.mark.parametrize(
    ("host", "who", "method", "path"),
    [
        ("musicschool", STUDENT, "post", "/resetmypassword/form"),
        ("musicschool", None, "post", "/forgot-password"),
        (None, None, "post", "/forgot-password"),
        (None, None, "post", "/api/webhooks/clerk"),
        ("musicschool", None, "get", "/api/availability?type=1"),
    ],
)
def test_other_sensitive_routes_carry_a_limit(visit, limits_on, host, who, method, path):
    response = getattr(visit(host, who), method)(path)
    assert "X-RateLimit-Limit" in response.headers, f"{path}: no limit applied"


def test_limits_are_kept_in_redis(app):
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
