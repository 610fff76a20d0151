"""``POST /api/webhooks/clerk``: Clerk's deliveries, signed by Svix, on the platform domain.

Thin: verify, parse, hand to the service, answer. Anything that is not a correctly signed
Clerk event is a 4xx with a JSON message and nothing is stored; once an event is recorded the
answer is 200 whatever happens next (the event is ours to finish).
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from svix.webhooks import Webhook, WebhookVerificationError

from app.identity import service
from app.tenancy import privileged

SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")
MAX_BODY_BYTES = 512 * 1024

blueprint = Blueprint("clerk_webhooks", __name__)


def _refusal(status: int, message: str):
    return jsonify(error="webhook refused", message=message), status


def _verifier(secret: str | None) -> Webhook | None:
    try:
        return Webhook(secret) if secret else None
    except ValueError:  # not base64 after "whsec_"
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
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _refusal(413, f"The body is over {MAX_BODY_BYTES} bytes.")
    missing = [name for name in SVIX_HEADERS if not request.headers.get(name)]
    if missing:
        return _refusal(400, f"Missing Svix header(s): {', '.join(missing)}.")
    body = request.get_data()
    headers = {name: request.headers[name] for name in SVIX_HEADERS}
    try:
        # svix 2.9.1 returns None here: the body is parsed below, once it is verified.
        verifier.verify(body, headers)
    except WebhookVerificationError as exc:
        return _refusal(401, f"The Svix signature does not verify: {exc}.")
    except ValueError as exc:  # a malformed signature header is a ValueError, not the above
        return _refusal(400, f"Malformed Svix signature headers: {exc}.")
    try:
        event = json.loads(body)
    except ValueError:
        return _refusal(400, "The signed body is not JSON.")
    problem = service.event_problem(event)
    if problem:
        return _refusal(400, problem)

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
