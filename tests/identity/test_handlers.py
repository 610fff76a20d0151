"""What each Clerk event does (through the endpoint's fast path; the worker runs the same)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.models import ClerkUser, Membership, MembershipRole, Organization, User
from tests.identity.clerk import ClerkPerson, ClerkSchool, expect, unique


def user_of(owner_db, person: ClerkPerson) -> User | None:
    owner_db.expire_all()
    return owner_db.scalar(
        sa.select(User)
        .join(ClerkUser, ClerkUser.user_id == User.id)
        .where(ClerkUser.clerk_user_id == person.id)
    )


def school_of(owner_db, school: ClerkSchool) -> Organization | None:
    owner_db.expire_all()
    return owner_db.scalar(sa.select(Organization).where(Organization.clerk_org_id == school.id))


def membership_in(owner_db, school: ClerkSchool, person: ClerkPerson) -> Membership | None:
    org, user = school_of(owner_db, school), user_of(owner_db, person)
    return owner_db.scalar(
        sa.select(Membership).where(
            Membership.organization_id == org.id, Membership.user_id == user.id
        )
    )


def status_of(response) -> tuple[str, str]:
    body = expect(response)
    return body["status"], body["detail"]


@pytest.fixture
def synced(deliver):
    """``synced(school, *people)``: a school and people already in CourseCove."""

    def make(school: ClerkSchool | None = None, *people: ClerkPerson):
        for person in people:
            assert status_of(deliver(person.event()))[0] == "completed"
        if school is not None:
            assert status_of(deliver(school.event()))[0] == "completed"

    return make


# --- users -------------------------------------------------------------------------------


def test_user_updated_changes_email_and_names(deliver, owner_db, synced):
    person = ClerkPerson("Clara", "Wieck")
    synced(None, person)
    person.first, person.last, person.email = "Clara", "Schumann", f"{person.id}@new.example.org"

    deliver(person.event("updated"))

    user = user_of(owner_db, person)
    assert (user.first_name, user.last_name, user.email) == ("Clara", "Schumann", person.email), (
        f"got {user.first_name} {user.last_name} {user.email}"
    )


def test_older_event_never_overwrites_newer_data(deliver, owner_db):
    person = ClerkPerson("Johann", "Bach")
    newer = person.event("updated", updated_ms=2_000_000_000_000)
    person.first = "Old name"
    older = person.event("created", updated_ms=1_900_000_000_000)

    assert status_of(deliver(newer))[0] == "completed"  # the update arrives first: an upsert
    status, detail = status_of(deliver(older))

    assert status == "completed" and "stale" in detail, f"expected a stale no-op, got {detail!r}"
    assert user_of(owner_db, person).first_name == "Johann"


def test_user_deleted_deactivates_and_keeps_memberships(deliver, owner_db, synced):
    person, school = ClerkPerson("Gone", "Soon"), ClerkSchool()
    synced(school, person)
    deliver(school.membership(person))

    status, detail = status_of(deliver(person.event("deleted")))

    user = user_of(owner_db, person)
    assert status == "completed" and user is not None, f"expected the user kept, got {detail!r}"
    assert user.active is False, "expected the user deactivated"
    assert membership_in(owner_db, school, person) is not None, "memberships must stay"


def test_user_created_after_its_deletion_does_not_revive_it(deliver, owner_db):
    person = ClerkPerson("Late", "Arrival")
    deliver(person.event("deleted"))

    status, detail = status_of(deliver(person.event("created", updated_ms=1_700_000_000_000)))

    assert status == "completed" and "deleted" in detail, f"got {status}: {detail!r}"
    assert user_of(owner_db, person) is None


def test_verified_email_links_an_existing_account(deliver, owner_db):
    person = ClerkPerson("Ada", "Lovelace", email="ada@musicschool.demo")
    existing = owner_db.scalar(sa.select(User.id).where(User.email == "ada@musicschool.demo"))
    already = owner_db.scalar(sa.select(ClerkUser).where(ClerkUser.user_id == existing))
    if already is not None:  # linked by an earlier run of this test on the same database
        pytest.skip("ada is already linked")

    status, detail = status_of(deliver(person.event()))

    assert status == "completed" and "linked" in detail, f"got {status}: {detail!r}"
    assert user_of(owner_db, person).id == existing


def test_unverified_email_of_an_existing_account_is_a_clear_failure(deliver, stored, owner_db):
    person = ClerkPerson("Not", "Ada", email="alan@musicschool.demo")
    svix_id = unique("msg")

    status, detail = status_of(deliver(person.event(verified=False), svix_id=svix_id))

    assert status == "failed" and "not verified" in detail, f"got {status}: {detail!r}"
    row = stored(svix_id)
    assert row["status"] == "failed" and row["last_error"] == detail and row["attempts"] == 1
    assert user_of(owner_db, person) is None


def test_user_without_an_email_is_a_clear_failure(deliver):
    person = ClerkPerson()
    event = person.event()
    event["data"]["email_addresses"] = []
    event["data"]["primary_email_address_id"] = None

    status, detail = status_of(deliver(event))

    assert status == "failed" and "no primary e-mail" in detail, f"got {status}: {detail!r}"


# --- schools -----------------------------------------------------------------------------


def test_organization_created_makes_a_school_on_its_slug(deliver, owner_db):
    school = ClerkSchool("Harmony Piano Academy")

    status, _ = status_of(deliver(school.event()))

    org = school_of(owner_db, school)
    assert status == "completed" and org is not None
    assert (org.name, org.subdomain, org.time_zone, org.active) == (
        "Harmony Piano Academy",
        school.slug,
        "America/Chicago",
        True,
    ), f"got {org.name}, {org.subdomain}, {org.time_zone}, {org.active}"


def test_organization_updated_renames_the_school(deliver, owner_db, synced):
    school = ClerkSchool("Old Name")
    synced(school)
    school.name = "New Name"

    deliver(school.event("updated"))

    assert school_of(owner_db, school).name == "New Name"


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("www", "reserved"),
        ("Not_A_Subdomain!", "cannot be a CourseCove subdomain"),
        ("", "no slug"),
    ],
)
def test_organization_with_an_unusable_slug_is_a_clear_failure(deliver, owner_db, slug, reason):
    school = ClerkSchool(slug="placeholder")
    school.slug = slug

    status, detail = status_of(deliver(school.event()))

    assert status == "failed" and reason in detail, f"expected failed ({reason}), got {detail!r}"
    assert school_of(owner_db, school) is None


def test_organization_slug_clashing_with_another_school_is_a_clear_failure(deliver, owner_db):
    school = ClerkSchool("Impostor Music", slug="musicschool")

    status, detail = status_of(deliver(school.event()))

    assert status == "failed" and "already used by Riverside Music School" in detail, (
        f"expected a clash failure, got {status}: {detail!r}"
    )
    assert school_of(owner_db, school) is None
    existing = owner_db.scalar(
        sa.select(Organization).where(Organization.subdomain == "musicschool")
    )
    assert existing.clerk_org_id is None, "the existing school must not be taken over"


def test_organization_deleted_deactivates_the_school(deliver, owner_db, synced):
    school = ClerkSchool()
    synced(school)

    deliver(school.event("deleted"))

    org = school_of(owner_db, school)
    assert org is not None and org.active is False, "expected the school kept but inactive"


# --- memberships -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clerk_role", "metadata", "expected"),
    [
        ("org:admin", {}, MembershipRole.ADMIN),
        ("org:member", {}, MembershipRole.STUDENT),
        ("org:member", {"coursecove_role": "instructor"}, MembershipRole.INSTRUCTOR),
    ],
)
def test_membership_role_follows_the_mapping(
    deliver, owner_db, synced, clerk_role, metadata, expected
):
    school, person = ClerkSchool(), ClerkPerson()
    synced(school, person)

    status, detail = status_of(
        deliver(school.membership(person, role=clerk_role, metadata=metadata))
    )

    membership = membership_in(owner_db, school, person)
    assert status == "completed", f"got {status}: {detail!r}"
    assert (membership.role, membership.active) == (expected, True), (
        f"expected {expected} (active), got {membership.role} ({membership.active})"
    )


def test_role_mapping_is_configuration(app, deliver, owner_db, synced, monkeypatch):
    monkeypatch.setitem(
        app.config,
        "CLERK_ROLE_MAP",
        {"org:admin": "admin", "org:member": "student", "org:teacher": "instructor"},
    )
    school, person = ClerkSchool(), ClerkPerson()
    synced(school, person)

    deliver(school.membership(person, role="org:teacher"))

    assert membership_in(owner_db, school, person).role is MembershipRole.INSTRUCTOR


def test_unmapped_clerk_role_is_a_clear_failure(deliver, synced):
    school, person = ClerkSchool(), ClerkPerson()
    synced(school, person)

    status, detail = status_of(deliver(school.membership(person, role="org:billing")))

    assert status == "failed" and "CLERK_ROLE_MAP" in detail, f"got {status}: {detail!r}"


def test_membership_updated_changes_the_role(deliver, owner_db, synced):
    school, person = ClerkSchool(), ClerkPerson()
    synced(school, person)
    deliver(school.membership(person, role="org:admin", updated_ms=1_800_000_000_000))

    deliver(school.membership(person, "updated", role="org:member", updated_ms=1_800_000_100_000))

    assert membership_in(owner_db, school, person).role is MembershipRole.STUDENT


def test_membership_deleted_deactivates_it(deliver, owner_db, synced):
    school, person = ClerkSchool(), ClerkPerson()
    synced(school, person)
    deliver(school.membership(person))

    deliver(school.membership(person, "deleted"))

    membership = membership_in(owner_db, school, person)
    assert membership is not None and membership.active is False, "expected kept but inactive"


def test_membership_cannot_be_moved_into_another_school(deliver, owner_db, synced):
    first, second, person = ClerkSchool(), ClerkSchool(), ClerkPerson()
    synced(first, person)
    synced(second)
    membership_id = unique("orgmem")
    deliver(first.membership(person, membership_id=membership_id))

    status, detail = status_of(
        deliver(
            second.membership(
                person, "updated", membership_id=membership_id, updated_ms=2_100_000_000_000
            )
        )
    )

    assert status == "failed" and "another school" in detail, f"got {status}: {detail!r}"
    moved = owner_db.scalar(
        sa.select(Membership.organization_id).where(Membership.clerk_membership_id == membership_id)
    )
    assert moved == school_of(owner_db, first).id, "the membership must stay in its school"
    assert (
        owner_db.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .where(Membership.organization_id == school_of(owner_db, second).id)
        )
        == 0
    )


def test_membership_cannot_be_handed_to_another_person(deliver, owner_db, synced):
    school, owner, intruder = ClerkSchool(), ClerkPerson(), ClerkPerson()
    synced(school, owner, intruder)
    membership_id = unique("orgmem")
    deliver(school.membership(owner, role="org:admin", membership_id=membership_id))

    status, detail = status_of(
        deliver(
            school.membership(intruder, "updated", role="org:admin", membership_id=membership_id)
        )
    )

    assert status == "failed" and "another person" in detail, f"got {status}: {detail!r}"
    assert membership_in(owner_db, school, owner).clerk_membership_id == membership_id


# --- concurrency and late events (issue 13) ----------------------------------------------


def test_simultaneous_create_and_newer_update_of_a_new_user_keep_the_newer_data(app, owner_db):
    """40 pairs, each posted at the same instant from two threads on two connections."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from tests.identity.clerk import WEBHOOK_PATH, signed_headers

    def post(body: str, barrier: Barrier) -> dict:
        client = app.test_client()
        headers = signed_headers(body)
        barrier.wait()
        response = client.post(
            WEBHOOK_PATH, data=body, headers=headers, base_url=f"http://{app.config['APP_DOMAIN']}"
        )
        return response.get_json()

    problems = []
    with ThreadPoolExecutor(2) as pool:
        for _ in range(40):
            person = ClerkPerson("Stale", "Name")
            created = json.dumps(person.event("created", updated_ms=1_800_000_000_000))
            person.first = "Fresh"
            updated = json.dumps(person.event("updated", updated_ms=1_800_000_005_000))
            barrier = Barrier(2)
            answers = list(pool.map(post, (created, updated), (barrier, barrier)))
            user = user_of(owner_db, person)
            statuses = [answer["status"] for answer in answers]
            if statuses != ["completed", "completed"] or user is None or user.first_name != "Fresh":
                problems.append(
                    f"{person.id}: {[a['status'] + ' ' + a['detail'] for a in answers]}, "
                    f"name {user and user.first_name!r}"
                )

    assert not problems, f"expected every pair completed with the newer name, got {problems}"


def test_late_membership_after_its_organization_was_deleted_is_skipped(
    deliver, owner_db, synced, stored
):
    school, person = ClerkSchool(), ClerkPerson()
    synced(school, person)
    deliver(school.event("deleted", updated_ms=1_800_000_005_000))
    svix_id = unique("msg")

    answer = expect(
        deliver(school.membership(person, updated_ms=1_800_000_003_000), svix_id=svix_id)
    )

    assert answer["status"] == "skipped" and "deleted" in answer["detail"], f"got {answer}"
    assert stored(svix_id)["detail"] == answer["detail"], "expected the reason stored"
    org = school_of(owner_db, school)
    count = owner_db.scalar(
        sa.select(sa.func.count())
        .select_from(Membership)
        .where(Membership.organization_id == org.id)
    )
    assert count == 0, f"expected no membership in the deleted school, got {count}"


def test_late_membership_after_its_user_was_deleted_is_skipped(deliver, owner_db, synced):
    school, person = ClerkSchool(), ClerkPerson()
    synced(school, person)
    deliver(person.event("deleted"))

    answer = expect(deliver(school.membership(person, updated_ms=1_800_000_003_000)))

    assert answer["status"] == "skipped" and "deleted" in answer["detail"], f"got {answer}"
    user = user_of(owner_db, person)
    active = owner_db.scalar(
        sa.select(Membership.id).where(Membership.user_id == user.id, Membership.active.is_(True))
    )
    assert active is None, "expected no active membership for the deleted user"
