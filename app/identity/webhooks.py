"""``POST /api/webhooks/clerk``: Clerk's deliveries, signed by Svix, on the platform domain.

Thin: verify, parse, hand to the service, answer. Anything that is not a correctly signed
Clerk event is a 4xx with a JSON message and nothing is stored; once an event is recorded the
answer is 200 whatever happens next (the event is ours to finish).
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from svix.webhooks import Webhook, WebhookVerificationError

from app.identity import service
from app.tenancy import privileged

SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")
MAX_BODY_BYTES = 512 * 1024
MAX_SVIX_ID = 100  # the column's width; Svix's own ids are "msg_" and 27 characters

blueprint = Blueprint("clerk_webhooks", __name__)


def _refusal(status: int, message: str):
    return jsonify(error="webhook refused", message=message), status


def _verifier(secret: str | None) -> Webhook | None:
    try:
        return Webhook(secret) if secret else None
    except ValueError:  # not base64 after "whsec_"
        return None


def _read_body() -> bytes | None:
    """The body, or ``None`` if it is over ``MAX_BODY_BYTES``. Reads at most one byte more
    from the stream, whatever Content-Length says: a chunked body has none."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None
    body = request.stream.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def _header_problem() -> str | None:
    missing = [name for name in SVIX_HEADERS if not request.headers.get(name)]
    if missing:
        return f"Missing Svix header(s): {', '.join(missing)}."
    if len(request.headers["svix-id"]) > MAX_SVIX_ID:
        return f"The svix-id header is over {MAX_SVIX_ID} characters."
    return None


@blueprint.post("/api/webhooks/clerk")
def receive_clerk_webhook():
    started = time.perf_counter()
    if not g.host_target.is_platform:
        abort(404)
    verifier = _verifier(current_app.config.get("CLERK_WEBHOOK_SECRET"))
    if verifier is None:
        return _refusal(
            503,
            "Clerk webhooks are not configured here: CLERK_WEBHOOK_SECRET "
            "must be the endpoint's whsec_… signing secret.",
        )
    problem = _header_problem()
    if problem:
        return _refusal(400, problem)
    body = _read_body()
    if body is None:
        return _refusal(413, f"The body is over {MAX_BODY_BYTES} bytes.")
    headers = {name: request.headers[name] for name in SVIX_HEADERS}
    try:
        # svix 2.9.1 returns None here: the body is parsed below, once it is verified.
        verifier.verify(body, headers)
    except WebhookVerificationError as exc:
        return _refusal(401, f"The Svix signature does not verify: {exc}.")
    except ValueError as exc:  # a malformed signature header is a ValueError, not the above
        return _refusal(400, f"Malformed Svix signature headers: {exc}.")
    try:
        event = service.parse_event(body)
    except service.UnusableBody as exc:
        return _refusal(400, str(exc))

    with privileged():
        outcome = service.receive(headers["svix-id"], event, started)
    return jsonify(
        svix_id=headers["svix-id"],
        status=outcome.status,
        detail=outcome.detail,
        took_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    # Svix signs instead of a CSRF token: exempt this blueprint only, if CSRF protection is on.
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(blueprint)
