"""The endpoint: Svix verification, refusals that store nothing, and duplicate deliveries."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.models import ClerkUser, User, WebhookEvent
from tests.identity.clerk import (
    WEBHOOK_PATH,
    ClerkPerson,
    expect,
    fixture,
    signed_headers,
    unique,
)


def count_events(owner_db) -> int:
    return owner_db.scalar(sa.select(sa.func.count()).select_from(WebhookEvent))


def test_signed_user_created_is_completed_on_the_fast_path(deliver, stored, owner_db, caplog):
    person = ClerkPerson("Clara", "Wieck")

    with caplog.at_level("INFO", logger="app.identity.service"):
        body = expect(deliver(person.event("created"), svix_id=(svix_id := unique("msg"))))

    assert body["status"] == "completed", f"expected completed, got {body}"
    row = stored(svix_id)
    assert (row["status"], row["path"], row["attempts"]) == ("completed", "fast", 1), (
        f"expected completed on the fast path in 1 attempt, got {row}"
    )
    assert row["event_type"] == "user.created" and row["payload"]["data"]["id"] == person.id
    assert row["duration_ms"] is not None and row["duration_ms"] < 500
    user = owner_db.scalar(
        sa.select(User)
        .join(ClerkUser, ClerkUser.user_id == User.id)
        .where(ClerkUser.clerk_user_id == person.id)
    )
    assert (user.email, user.first_name, user.last_name) == (person.email, "Clara", "Wieck")
    logged = [r.getMessage() for r in caplog.records if svix_id in r.getMessage()]
    assert logged and "completed on the fast path in" in logged[0] and " ms" in logged[0], (
        f"expected a log line naming the path and the time, got {logged}"
    )


def _delivery(event: dict) -> tuple[str, dict]:
    body = json.dumps(event)
    return body, signed_headers(body)


def _refused(platform, owner_db, body, headers, status: int, message_part: str) -> None:
    before = count_events(owner_db)
    response = platform.post(WEBHOOK_PATH, data=body, headers=headers)
    payload = expect(response, status)
    assert message_part in payload["message"], (
        f"expected a message mentioning {message_part!r}, got {payload['message']!r}"
    )
    assert count_events(owner_db) == before, "a refused delivery must store nothing"


def test_tampered_body_is_refused_and_nothing_stored(platform, owner_db):
    person = ClerkPerson()
    body, headers = _delivery(person.event())
    tampered = body.replace(person.email, "attacker@example.org")
    _refused(platform, owner_db, tampered, headers, 401, "does not verify")
    assert owner_db.scalar(sa.select(User).where(User.email == "attacker@example.org")) is None


def test_signature_with_the_wrong_secret_is_refused(platform, owner_db):
    body = json.dumps(ClerkPerson().event())
    headers = signed_headers(body, secret="whsec_" + "QWxsIHlvdXIgYmFzZSBhcmUgYmVsb25nIHRvIHVz")
    _refused(platform, owner_db, body, headers, 401, "does not verify")


@pytest.mark.parametrize(
    "age", [timedelta(minutes=-10), timedelta(minutes=10)], ids=["stale", "from_the_future"]
)
def test_timestamp_outside_svix_tolerance_is_refused(platform, owner_db, age):
    body = json.dumps(ClerkPerson().event())
    headers = signed_headers(body, at=datetime.now(UTC) + age)
    _refused(platform, owner_db, body, headers, 401, "timestamp")


@pytest.mark.parametrize("header", ["svix-id", "svix-timestamp", "svix-signature"])
def test_missing_svix_header_is_refused(platform, owner_db, header):
    body, headers = _delivery(ClerkPerson().event())
    del headers[header]
    _refused(platform, owner_db, body, headers, 400, header)


@pytest.mark.parametrize("signature", ["garbage", "v1", "v1,", "v1,not base64!"])
def test_malformed_signature_header_is_a_400_not_a_crash(platform, owner_db, signature):
    body, headers = _delivery(ClerkPerson().event())
    headers["svix-signature"] = signature
    response = platform.post(WEBHOOK_PATH, data=body, headers=headers)
    assert response.status_code in (400, 401), (
        f"expected 400/401 for signature {signature!r}, got {response.status_code}"
    )
    assert "message" in response.get_json(), f"expected a JSON message, got {response.data!r}"


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2, 3]", "not a JSON object"),
        ('{"data": {"id": "user_x"}}', "'type'"),
        ('{"type": "user.created", "data": "user_x"}', "'data'"),
        ('{"type": "user.created", "data": {"first_name": "No id"}}', "data.id"),
    ],
)
def test_signed_body_that_is_not_a_clerk_event_is_refused(platform, owner_db, body, message_part):
    _refused(platform, owner_db, body, signed_headers(body), 400, message_part)


def test_endpoint_is_not_on_school_subdomains(visit, deliver, owner_db):
    before = count_events(owner_db)
    response = deliver(ClerkPerson().event(), via=visit("musicschool"))
    assert response.status_code == 404, f"expected 404 on a school host, got {response.status_code}"
    assert count_events(owner_db) == before


def test_without_a_webhook_secret_the_endpoint_refuses(app, deliver, owner_db, monkeypatch):
    monkeypatch.setitem(app.config, "CLERK_WEBHOOK_SECRET", "")
    before = count_events(owner_db)
    expect(deliver(ClerkPerson().event()), 503)
    assert count_events(owner_db) == before


def test_no_csrf_token_is_needed_with_csrf_protection_on(deliver, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # as in production
    response = deliver(ClerkPerson().event())
    assert response.status_code == 200, (
        f"expected 200 without a CSRF token, got {response.status_code}"
    )


def test_repeated_delivery_answers_200_and_is_not_processed_again(deliver, stored, owner_db):
    person = ClerkPerson("Fanny", "Mendelssohn")
    svix_id = unique("msg")
    first = expect(deliver(person.event(), svix_id=svix_id))
    owner_db.execute(sa.update(User).where(User.email == person.email).values(first_name="Local"))
    owner_db.commit()

    second = expect(deliver(person.event(), svix_id=svix_id))

    assert (first["status"], second["status"]) == ("completed", "duplicate"), (
        f"expected completed then duplicate, got {first['status']} then {second['status']}"
    )
    assert stored(svix_id)["attempts"] == 1
    name = owner_db.scalar(sa.select(User.first_name).where(User.email == person.email))
    assert name == "Local", f"expected the duplicate not to run again, but first_name is {name!r}"


def test_simultaneous_duplicates_are_processed_once(app, stored, owner_db):
    person = ClerkPerson("Lili", "Boulanger")
    body = json.dumps(person.event())
    headers = signed_headers(body)

    def post(_):
        client = app.test_client()
        return client.post(
            WEBHOOK_PATH, data=body, headers=headers, base_url=f"http://{app.config['APP_DOMAIN']}"
        ).get_json()["status"]

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(post, range(8)))

    assert statuses == ["completed"] + ["duplicate"] * 7, (
        f"expected one completed and seven duplicates, got {statuses}"
    )
    assert stored(headers["svix-id"])["attempts"] == 1
    users = owner_db.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.email == person.email)
    )
    assert users == 1, f"expected one user, got {users}"


def test_unhandled_event_type_is_completed_with_nothing_done(deliver, stored):
    svix_id = unique("msg")
    body = expect(deliver(fixture("session.created"), svix_id=svix_id))
    row = stored(svix_id)
    assert (row["status"], row["path"]) == ("completed", "fast"), f"got {row}"
    assert "not handled" in body["detail"], f"expected 'not handled', got {body['detail']!r}"


# --- hostile but verified deliveries (issue 13) ------------------------------------------


def _post_body(platform, body: str, **header_changes):
    headers = {**signed_headers(body), **header_changes}
    return platform.post(WEBHOOK_PATH, data=body.encode(), headers=headers)


def test_nul_anywhere_in_a_verified_delivery_is_recorded_and_processed(platform, stored, owner_db):
    person = ClerkPerson("Ma\u0000rie", "Curie")
    # A lone surrogate too: valid JSON, but no UTF-8 for PostgreSQL.
    event = person.event(public_metadata={"no\u0000te": "a\u0000b", "half": "x\ud800y"})
    svix_id = unique("msg")
    body = json.dumps(event)

    response = platform.post(WEBHOOK_PATH, data=body, headers=signed_headers(body, svix_id=svix_id))

    answer = expect(response)
    assert answer["status"] == "completed", f"expected completed, got {answer}"
    row = stored(svix_id)
    assert row is not None and row["payload"]["data"]["public_metadata"] == {
        "no\ufffdte": "a\ufffdb",
        "half": "x\ufffdy",
    }, f"expected NUL stored as U+FFFD, got {row and row['payload']['data']['public_metadata']}"
    name = owner_db.scalar(sa.select(User.first_name).where(User.email == person.email))
    assert name == "Ma\ufffdrie", f"expected the name with U+FFFD for the NUL, got {name!r}"


def test_number_beyond_a_float_is_recorded_as_its_text(platform, stored):
    event = ClerkPerson().event(public_metadata={"score": "HUGE"})
    body = json.dumps(event).replace('"HUGE"', "1e400")
    svix_id = unique("msg")

    answer = expect(
        platform.post(WEBHOOK_PATH, data=body, headers=signed_headers(body, svix_id=svix_id))
    )

    assert answer["status"] == "completed", f"expected completed, got {answer}"
    kept = stored(svix_id)["payload"]["data"]["public_metadata"]["score"]
    assert kept == "1e400", f"expected the number kept as its text '1e400', got {kept!r}"


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ('{"type": "user.created", "data": {"id": "user_x", "n": NaN}}', "NaN"),
        ('{"type": "user.created", "data": {"id": "user_x", "n": -Infinity}}', "-Infinity"),
        (
            '{"type": "user.created", "data": {"id": "user_x", "n": '
            + "[" * 100_000
            + "]" * 100_000
            + "}}",
            "nested deeper",
        ),
        (
            '{"type": "user.created", "data": {"id": "user_x", "n": '
            + "[" * 200
            + "]" * 200
            + "}}",
            "nested deeper",
        ),
    ],
    ids=["nan", "infinity", "100000_deep", "200_deep"],
)
def test_verified_body_json_cannot_store_is_a_400(platform, owner_db, body, message_part):
    _refused(platform, owner_db, body, signed_headers(body), 400, message_part)


def test_svix_id_over_100_characters_is_a_400(platform, owner_db):
    body = json.dumps(ClerkPerson().event())
    _refused(platform, owner_db, body, signed_headers(body, svix_id="m" * 101), 400, "svix-id")


@pytest.mark.parametrize("updated_at", [10**20, "yesterday", True], ids=str)
def test_updated_at_that_is_not_a_clerk_time_fails_at_once(deliver, stored, updated_at):
    event = ClerkPerson().event()
    event["data"]["updated_at"] = updated_at
    svix_id = unique("msg")

    answer = expect(deliver(event, svix_id=svix_id))

    row = stored(svix_id)
    assert (answer["status"], row["status"], row["attempts"]) == ("failed", "failed", 1), (
        f"expected failed at the first attempt, got {answer['status']}, {row['status']} "
        f"after {row['attempts']} attempt(s): {row['last_error']!r}"
    )
    assert "not a Clerk time" in row["last_error"], f"got {row['last_error']!r}"


def test_database_outage_on_the_webhook_is_a_json_503_svix_retries(app, platform, monkeypatch):
    import psycopg

    from app.extensions import db

    def refuse(*args, **kwargs):
        raise psycopg.OperationalError("connection refused (the test's outage)")

    def drop_connections():
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    drop_connections()
    monkeypatch.setattr(psycopg, "connect", refuse)
    try:
        body = json.dumps(ClerkPerson().event())
        response = _post_body(platform, body)
    finally:
        monkeypatch.undo()
        drop_connections()

    assert (response.status_code, response.mimetype) == (503, "application/json"), (
        f"expected a JSON 503, got {response.status_code} {response.mimetype}: "
        f"{response.data[:200]!r}"
    )
    assert "nothing was changed" in response.get_json()["message"]


def test_answers_and_log_lines_carry_no_email_address(deliver, caplog):
    first, second = ClerkPerson("Ann", "One"), ClerkPerson("Ben", "Two")
    with caplog.at_level("INFO"):
        answers = [
            expect(deliver(first.event(updated_ms=1_800_000_000_000))),
            expect(deliver(first.event("updated", updated_ms=1_800_000_001_000))),
            expect(deliver(second.event(updated_ms=1_800_000_000_000))),
        ]
        second.email = first.email  # a clash: the answer and the log name ids instead
        answers.append(expect(deliver(second.event("updated", updated_ms=1_800_000_002_000))))
        answers.append(expect(deliver(first.event("deleted"))))

    said = json.dumps(answers) + "\n".join(record.getMessage() for record in caplog.records)
    assert first.email not in said, f"expected no e-mail address, got:\n{said}"
    assert all(answer["detail"] for answer in answers), f"expected details, got {answers}"
