"""Rate limits (Flask-Limiter, in Redis) and the per-account sign-in lockout.

Limits answer 429 with ``Retry-After``. The lockout counts failed sign-ins of one account
in Redis, two ways, so that an attacker cannot keep its owner out for long:
- from one address: after ``PAIR_FAILURES`` that address is refused for this account for
  ``PAIR_LOCK_S`` (the owner, elsewhere, is not affected);
- from anywhere: after ``ACCOUNT_FAILURES`` (many addresses) the account is refused for
  only ``ACCOUNT_LOCK_S``, enough to make guessing hopeless, short for its owner.
``RATE_LIMITS = False`` (the tests' configuration) switches both off; tests switch them on.

Redis down: the limits count in each web worker's memory meanwhile (Flask-Limiter's fallback)
and the lockout is skipped, with a warning: sign-in keeps working (docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import wraps

import redis
from flask import Flask, current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from app.extensions import limiter

log = logging.getLogger(__name__)

WINDOW_S = 15 * 60
PAIR_FAILURES, PAIR_LOCK_S = 5, 15 * 60
ACCOUNT_FAILURES, ACCOUNT_LOCK_S = 20, 60

SIGN_IN_LIMIT = "10/minute;50/hour"
PASSWORD_CHANGE_LIMIT = "10/hour"
BOOKING_LIMIT = "30/minute;300/hour"
# Links by mail (sign-up, "forgot password", invitations): each POST may send an e-mail.
MAIL_LINK_LIMIT = "5/minute;30/hour"


def limits_apply() -> bool:
    return bool(current_app.config.get("RATE_LIMITS", True))


def person_or_address() -> str:
    """Signed-in people are limited one by one; everybody else by address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


# --- the sign-in lockout --------------------------------------------------------------------


def _redis() -> redis.Redis:
    client = current_app.extensions.get("lockout_redis")
    if client is None:
        timeout = float(current_app.config["REDIS_REQUEST_TIMEOUT_S"])
        client = redis.Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=timeout, socket_timeout=timeout
        )
        current_app.extensions["lockout_redis"] = client
    return client


def _open_when_redis_is_down(step: Callable[[str], None]) -> Callable[[str], None]:
    """The lockout is a second line behind the limits (which fall back to memory): without
    Redis it steps aside rather than keep everyone from signing in."""

    @wraps(step)
    def guarded(username: str) -> None:
        try:
            step(username)
        except redis.RedisError as error:
            log.warning("sign-in lockout skipped, Redis unreachable: %s", error)

    return guarded


def _keys(username: str) -> tuple[str, str]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"lockout:{account}", f"lockout:{account}:{get_remote_address()}"


@_open_when_redis_is_down
def refuse_if_locked(username: str) -> None:
    """Raise 429 (with Retry-After) while this account is locked for this address."""
    if not limits_apply() or not username:
        return
    store = _redis()
    for key in _keys(username):
        seconds = store.ttl(f"{key}:locked")
        if seconds and seconds > 0:
            minutes = max(1, round(seconds / 60))
            raise TooManyRequests(
                description=(
                    "Too many failed sign-ins for this account. Please wait "
                    f"{minutes} minute{'s' if minutes > 1 else ''} and try again."
                ),
                retry_after=seconds,
            )


@_open_when_redis_is_down
def record_failure(username: str) -> None:
    if not limits_apply() or not username:
        return
    store = _redis()
    account_key, pair_key = _keys(username)
    for key, limit, lock_s in (
        (pair_key, PAIR_FAILURES, PAIR_LOCK_S),
        (account_key, ACCOUNT_FAILURES, ACCOUNT_LOCK_S),
    ):
        failures = store.incr(f"{key}:failures")
        if failures == 1:  # the window starts at the first failure
            store.expire(f"{key}:failures", WINDOW_S)
        if failures >= limit:
            store.set(f"{key}:locked", 1, ex=lock_s)
            store.delete(f"{key}:failures")


@_open_when_redis_is_down
def record_success(username: str) -> None:
    if limits_apply() and username:
        _redis().delete(f"{_keys(username)[1]}:failures")


# --- rate limits on the routes that take passwords or write bookings -------------------------


def init_app(app: Flask) -> None:
    """After every view is registered: limits attach to their blueprints."""
    app.config.setdefault("RATE_LIMITS", True)
    limiter.request_filter(lambda: not limits_apply())
    blueprints = app.blueprints
    limits = {
        "AuthDBView": SIGN_IN_LIMIT,
        "AuthOAuthView": SIGN_IN_LIMIT,
        "ResetMyPasswordView": PASSWORD_CHANGE_LIMIT,
        "ResetPasswordView": PASSWORD_CHANGE_LIMIT,
        "booking": BOOKING_LIMIT,
        "accounts": MAIL_LINK_LIMIT,
    }
    for name, limit in limits.items():
        if name in blueprints:
            by_address = name.startswith("Auth") or name == "accounts"
            key = get_remote_address if by_address else person_or_address
            limiter.limit(limit, methods=["POST"], key_func=key)(blueprints[name])
    if "clerk_webhooks" in blueprints:
        webhook_limit = app.config.get("WEBHOOK_RATE_LIMIT", "3000/minute")
        limiter.limit(webhook_limit, key_func=get_remote_address)(blueprints["clerk_webhooks"])
