"""``flask webhooks retry``: re-running failed events once their cause is fixed."""

from __future__ import annotations

from app.models import Organization
from tests.identity.clerk import ClerkSchool, expect, unique


def clashing_school(deliver, owner_db) -> tuple[ClerkSchool, str, Organization]:
    """A Clerk organization whose slug another school holds: recorded as failed."""
    taken = f"taken-{unique('s')[2:12]}"
    holder = Organization(name="Holder", subdomain=taken, time_zone="UTC")
    owner_db.add(holder)
    owner_db.commit()
    school = ClerkSchool("Newcomer", slug=taken)
    svix_id = unique("msg")
    assert expect(deliver(school.event(), svix_id=svix_id))["status"] == "failed"
    return school, svix_id, holder


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["webhooks", "retry", *args])


def test_retry_reruns_a_failed_event_once_its_cause_is_fixed(app, deliver, owner_db, stored):
    school, svix_id, holder = clashing_school(deliver, owner_db)
    holder.subdomain = f"moved-{holder.id}"
    owner_db.commit()

    result = run(app, svix_id)

    assert result.exit_code == 0, f"expected success, got {result.exit_code}: {result.output}"
    assert f"{svix_id}: completed" in result.output, result.output
    row = stored(svix_id)
    assert (row["status"], row["path"], row["attempts"]) == ("completed", "manual", 2), f"{row}"


def test_retry_of_a_still_failing_event_keeps_it_failed_with_the_error(
    app, deliver, owner_db, stored
):
    _, svix_id, _ = clashing_school(deliver, owner_db)

    result = run(app, svix_id)

    assert result.exit_code == 1, f"expected exit 1, got {result.exit_code}"
    row = stored(svix_id)
    assert row["status"] == "failed" and "already used by Holder" in row["last_error"], f"{row}"


def test_retry_failed_reruns_every_failed_event(app, deliver, owner_db, stored):
    fixed = [clashing_school(deliver, owner_db) for _ in range(2)]
    for _, _, holder in fixed:
        holder.subdomain = f"moved-{holder.id}"
    owner_db.commit()

    result = run(app, "--failed")

    for _, svix_id, _ in fixed:
        assert f"{svix_id}: completed" in result.output, (
            f"expected {svix_id} re-run: {result.output}"
        )
        assert stored(svix_id)["status"] == "completed"


def test_retry_needs_an_svix_id_or_failed(app):
    result = run(app)
    assert result.exit_code == 2 and "--failed" in result.output, result.output


def test_retry_of_an_unknown_svix_id_says_so(app):
    result = run(app, "msg_does_not_exist")
    assert "unknown" in result.output and result.exit_code == 1, result.output
