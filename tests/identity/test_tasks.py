"""The slow path with a real Celery worker and Redis: hand-over, retries with backoff, the
sweeper after a broker outage or a crash, and idempotent task messages."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.identity import queue
from app.identity.tasks import sweep_pending_webhooks
from app.models import ClerkUser, Membership, Organization, User, WebhookEvent
from app.tenancy import privileged
from tests.identity.clerk import ClerkPerson, ClerkSchool, expect, unique

pytestmark = pytest.mark.worker


@pytest.fixture
def worker(celery_worker):
    return celery_worker


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def sweep(app) -> int:
    """What beat runs every 30 s, run here and now."""
    with app.app_context():
        return sweep_pending_webhooks()


def age(owner_db, svix_id: str, by: timedelta = timedelta(minutes=2)) -> None:
    """Pretend the event was received (and last scheduled) ``by`` ago."""
    owner_db.execute(
        sa.update(WebhookEvent)
        .where(WebhookEvent.svix_id == svix_id)
        .values(received_at=WebhookEvent.received_at - by, next_attempt_at=sa.func.now() - by)
    )
    owner_db.commit()


@pytest.fixture
def row_lock(owner_engine):
    """``with row_lock(Model, id):`` someone else holds that row (SELECT … FOR UPDATE)."""
    from contextlib import contextmanager

    @contextmanager
    def hold(model, row_id):
        with owner_engine.connect() as conn:
            conn.execute(sa.select(model.id).where(model.id == row_id).with_for_update())
            yield
            conn.rollback()

    return hold


def test_out_of_order_membership_waits_for_its_user_then_the_worker_completes_it(
    deliver, worker, wait_for, owner_db
):
    school, person = ClerkSchool(), ClerkPerson("Early", "Bird")
    expect(deliver(school.event()))
    svix_id = unique("msg")

    body = expect(deliver(school.membership(person, role="org:admin"), svix_id=svix_id))

    assert body["status"] == "queued" and "not been synced" in body["detail"], f"got {body}"
    expect(deliver(person.event()))  # the user arrives after their membership
    row = wait_for(svix_id, "completed", worker=worker)
    assert (row["path"], row["queued_at"] is not None) == ("worker", True), f"got {row}"
    assert row["attempts"] >= 2, f"expected the fast attempt and a worker's, got {row['attempts']}"
    org = owner_db.scalar(sa.select(Organization.id).where(Organization.clerk_org_id == school.id))
    assert (
        owner_db.scalar(
            sa.select(Membership.role).where(
                Membership.organization_id == org,
                Membership.clerk_membership_id == row["payload"]["data"]["id"],
            )
        ).value
        == "admin"
    )


def test_exhausted_budget_answers_in_time_and_the_worker_finishes(
    app, deliver, worker, wait_for, owner_db, row_lock
):
    school = ClerkSchool("Locked School")
    expect(deliver(school.event()))
    org_id = owner_db.scalar(
        sa.select(Organization.id).where(Organization.clerk_org_id == school.id)
    )
    school.name = "Renamed While Locked"
    svix_id = unique("msg")
    budget_ms = app.config["WEBHOOK_FAST_PATH_BUDGET_MS"]

    with row_lock(Organization, org_id):
        started = time.perf_counter()
        body = expect(deliver(school.event("updated"), svix_id=svix_id))
        took_ms = (time.perf_counter() - started) * 1000

    assert body["status"] == "queued", f"expected queued, got {body}"
    assert "timeout" in body["detail"], f"expected a statement timeout, got {body['detail']!r}"
    assert took_ms < budget_ms + 250, (
        f"expected an answer within ~{budget_ms} ms, took {took_ms:.0f}"
    )
    row = wait_for(svix_id, "completed", worker=worker)
    assert row["path"] == "worker", f"expected the worker to finish it, got {row['path']}"
    owner_db.expire_all()
    assert owner_db.get(Organization, org_id).name == "Renamed While Locked"


def test_handler_error_is_retried_with_backoff_then_failed_with_the_error_kept(
    deliver, worker, wait_for, owner_db, row_lock, stored
):
    person = ClerkPerson("Busy", "Person")
    expect(deliver(person.event(updated_ms=1_800_000_000_000)))
    user_id = owner_db.scalar(
        sa.select(ClerkUser.user_id).where(ClerkUser.clerk_user_id == person.id)
    )
    person.first = "Changed"
    svix_id = unique("msg")

    with row_lock(User, user_id):  # every attempt times out while the row is held
        started = time.monotonic()
        expect(deliver(person.event("updated", updated_ms=1_800_000_100_000), svix_id=svix_id))
        row = wait_for(svix_id, "failed", timeout=30, worker=worker)
        elapsed = time.monotonic() - started

    assert row["attempts"] == 4, (
        f"expected 4 attempts (WEBHOOK_MAX_ATTEMPTS), got {row['attempts']}"
    )
    assert (
        "gave up after 4 attempts" in row["last_error"] and "statement timeout" in row["last_error"]
    ), f"expected the error kept, got {row['last_error']!r}"
    # Backoff 0.25 s base: waits of 0.5 s and 1 s between the worker's three attempts.
    assert elapsed >= 1.5, f"expected exponential backoff between attempts, took {elapsed:.2f}s"
    assert row["path"] == "worker"


def test_broker_outage_leaves_the_event_pending_until_the_sweeper_re_enqueues_it(
    app, deliver, worker, wait_for, owner_db, stored, monkeypatch, redis_url
):
    school, person = ClerkSchool(), ClerkPerson("Patient", "Student")
    expect(deliver(school.event()))
    svix_id = unique("msg")
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", closed_port_url())

    started = time.perf_counter()
    body = expect(deliver(school.membership(person), svix_id=svix_id))
    took_ms = (time.perf_counter() - started) * 1000

    assert body["status"] == "pending" and "broker is unreachable" in body["detail"], f"got {body}"
    assert took_ms < 500, (
        f"expected a publish failure not to spend the budget, took {took_ms:.0f} ms"
    )
    expect(deliver(person.event()))
    time.sleep(1)
    assert stored(svix_id)["status"] == "pending", (
        "nothing should have run it: it was never enqueued"
    )

    age(owner_db, svix_id)  # a minute later, Redis still down
    assert sweep(app) == 0, "the sweeper cannot hand anything over while the broker is down"
    assert stored(svix_id)["status"] == "pending"

    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", redis_url)  # Redis is back
    assert sweep(app) >= 1, "expected the sweeper to re-enqueue the pending event"
    row = wait_for(svix_id, "completed", worker=worker)
    assert row["path"] == "worker", f"got {row}"


def test_sweeper_leaves_recent_pending_events_alone(app, deliver, stored, monkeypatch):
    school, person = ClerkSchool(), ClerkPerson()
    expect(deliver(school.event()))
    svix_id = unique("msg")
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", closed_port_url())
    expect(deliver(school.membership(person), svix_id=svix_id))
    monkeypatch.undo()

    sweep(app)

    row = stored(svix_id)
    assert (row["status"], row["attempts"]) == ("pending", 1), (
        f"expected a fresh pending event left for its own retry, got {row['status']}"
    )


def test_claim_of_a_crashed_process_is_recovered_by_the_sweeper(app, worker, wait_for, owner_db):
    person = ClerkPerson("Crash", "Survivor")
    svix_id = unique("msg")
    owner_db.add(
        WebhookEvent(
            svix_id=svix_id,
            event_type="user.created",
            payload=person.event(),
            status="processing",
            path="fast",
            attempts=1,
            claimed_at=datetime.now(UTC) - timedelta(minutes=10),
        )
    )
    owner_db.commit()

    assert sweep(app) >= 1

    row = wait_for(svix_id, "completed", worker=worker)
    assert (row["path"], row["attempts"]) == ("worker", 2), f"got {row}"


def test_repeated_task_messages_run_the_event_once(app, worker, wait_for, owner_db):
    person = ClerkPerson("Once", "Only")
    svix_id = unique("msg")
    event = WebhookEvent(
        svix_id=svix_id,
        event_type="user.created",
        payload=person.event(),
        status="pending",
        attempts=0,
    )
    owner_db.add(event)
    owner_db.commit()

    with app.app_context(), privileged():
        assert all(queue.publish(event.id) for _ in range(3))

    row = wait_for(svix_id, "completed", worker=worker)
    time.sleep(0.5)  # let the other two messages arrive and find it done
    owner_db.expire_all()
    assert owner_db.get(WebhookEvent, event.id).attempts == 1, f"got {row['attempts']} attempts"


# --- conflicts that only the arrival order made (issue 13) -------------------------------


def test_email_moved_between_people_applied_in_the_other_order_completes(
    deliver, worker, wait_for, owner_db
):
    first, second = ClerkPerson("First", "Holder"), ClerkPerson("Second", "Holder")
    expect(deliver(first.event(updated_ms=1_800_000_000_000)))
    expect(deliver(second.event(updated_ms=1_800_000_000_000)))
    moved = first.email
    first.email, second.email = f"{first.id}@elsewhere.example.org", moved
    svix_id = unique("msg")

    body = expect(deliver(second.event("updated", updated_ms=1_800_000_003_000), svix_id=svix_id))
    assert body["status"] == "queued" and "conflict" in body["detail"], f"got {body}"
    expect(deliver(first.event("updated", updated_ms=1_800_000_002_000)))  # the older one

    row = wait_for(svix_id, "completed", worker=worker)
    owner_db.expire_all()
    email = owner_db.scalar(
        sa.select(User.email)
        .join(ClerkUser, ClerkUser.user_id == User.id)
        .where(ClerkUser.clerk_user_id == second.id)
    )
    assert email == moved, f"expected the second person to have {moved}, got {email} ({row})"


def test_subdomain_moved_between_schools_applied_in_the_other_order_completes(
    deliver, worker, wait_for, owner_db
):
    old_home, new_home = ClerkSchool("Old Home"), ClerkSchool("New Home")
    expect(deliver(old_home.event(updated_ms=1_800_000_000_000)))
    expect(deliver(new_home.event(updated_ms=1_800_000_000_000)))
    slug = old_home.slug
    old_home.slug, new_home.slug = f"{slug}-old", slug
    svix_id = unique("msg")

    body = expect(deliver(new_home.event("updated", updated_ms=1_800_000_003_000), svix_id=svix_id))
    assert body["status"] == "queued" and "conflict" in body["detail"], f"got {body}"
    expect(deliver(old_home.event("updated", updated_ms=1_800_000_002_000)))

    wait_for(svix_id, "completed", worker=worker)
    owner_db.expire_all()
    holder = owner_db.scalar(
        sa.select(Organization.clerk_org_id).where(Organization.subdomain == slug)
    )
    assert holder == new_home.id, f"expected {slug} to be {new_home.id}'s, got {holder}"


def test_conflict_that_never_resolves_fails_after_the_conflict_attempts(deliver, worker, wait_for):
    holder, claimant = ClerkPerson(), ClerkPerson()
    expect(deliver(holder.event()))
    claimant.email = holder.email
    svix_id = unique("msg")

    expect(deliver(claimant.event(), svix_id=svix_id))

    row = wait_for(svix_id, "failed", timeout=30, worker=worker)
    assert row["attempts"] == 3, (
        f"expected 3 attempts (WEBHOOK_CONFLICT_MAX_ATTEMPTS), got {row['attempts']}"
    )
    assert "gave up after 3 attempts: conflict" in row["last_error"], f"got {row['last_error']!r}"
