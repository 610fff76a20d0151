"""Stored deliveries lose their personal data: after the retention period, and when the
person is deleted in Clerk."""

from __future__ import annotations

from datetime import timedelta

from app.identity.tasks import cut_old_webhook_payloads
from app.models import WebhookEvent
from tests.identity.clerk import ClerkPerson, ClerkSchool, expect, unique


def stored_event(owner_db, clock, *, age: timedelta, status: str = "completed") -> str:
    svix_id = unique("msg")
    owner_db.add(
        WebhookEvent(
            svix_id=svix_id,
            event_type="user.created",
            payload=ClerkPerson().event(),
            status=status,
            attempts=1,
            received_at=clock.now() - age,
        )
    )
    owner_db.commit()
    return svix_id


def cut(app) -> int:
    """What beat runs every hour, run here and now."""
    with app.app_context():
        return cut_old_webhook_payloads()


def test_payloads_are_cut_after_the_retention_period_and_the_rows_kept(
    app, owner_db, clock, stored
):
    old = stored_event(owner_db, clock, age=timedelta(days=31))
    recent = stored_event(owner_db, clock, age=timedelta(days=29))

    assert cut(app) >= 1

    row = stored(old)
    assert row["payload"] is None and row["payload_cut_at"] == clock.now(), (
        f"expected the 31-day-old payload cut now, got {row['payload_cut_at']}"
    )
    assert (row["svix_id"], row["event_type"], row["status"]) == (old, "user.created", "completed")
    assert stored(recent)["payload"] is not None, "a 29-day-old payload must stay"

    clock.advance(timedelta(days=2))
    cut(app)
    assert stored(recent)["payload"] is None, "expected it cut once 30 days old"


def test_retention_period_is_configuration(app, owner_db, clock, stored, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_PAYLOAD_RETENTION_DAYS", 7)
    svix_id = stored_event(owner_db, clock, age=timedelta(days=8))

    cut(app)

    assert stored(svix_id)["payload"] is None, "expected an 8-day-old payload cut at 7 days"


def test_failed_and_unfinished_events_keep_their_payload(app, owner_db, clock, stored):
    kept = [
        stored_event(owner_db, clock, age=timedelta(days=90), status=status)
        for status in ("failed", "pending", "processing")
    ]

    cut(app)

    still = {svix_id: stored(svix_id)["payload"] is not None for svix_id in kept}
    assert all(still.values()), f"expected failed/pending/processing payloads kept, got {still}"


def test_the_task_is_on_the_beat_schedule(app):
    tasks = {entry["task"] for entry in app.config["CELERY_BEAT_SCHEDULE"].values()}
    assert "identity.cut_old_webhook_payloads" in tasks, f"got {sorted(tasks)}"


def test_user_deleted_erases_their_personal_data_from_stored_deliveries(deliver, stored):
    person, school, other = ClerkPerson("Private", "Person"), ClerkSchool(), ClerkPerson()
    ids = {name: unique("msg") for name in ("created", "updated", "membership", "other")}
    expect(deliver(person.event(), svix_id=ids["created"]))
    expect(deliver(other.event(), svix_id=ids["other"]))
    expect(deliver(school.event()))
    expect(deliver(school.membership(person), svix_id=ids["membership"]))
    expect(deliver(person.event("updated", phone_numbers=[{"phone_number": "+15550100"}])))

    expect(deliver(person.event("deleted")))

    leaks = [name for name in ("created", "membership") if stored(ids[name])["payload"]]
    assert not leaks, f"expected the deleted person's deliveries erased, still stored: {leaks}"
    assert stored(ids["created"])["status"] == "completed", "the row itself must stay"
    assert stored(ids["other"])["payload"] is not None, "another person's delivery must stay"


def test_a_re_run_of_an_erased_event_changes_nothing(app, deliver, stored):
    from app.identity import service
    from app.tenancy import privileged

    person = ClerkPerson()
    svix_id = unique("msg")
    expect(deliver(person.event(), svix_id=svix_id))
    expect(deliver(person.event("deleted")))

    with app.app_context(), privileged():
        outcome = service.retry_now(svix_id)

    assert (outcome.status, "erased" in outcome.detail) == ("skipped", True), f"got {outcome}"
