"""What each Clerk event does to CourseCove's users, schools and memberships.

One function per kind of change, shared by the fast path and the worker (``service.py`` runs
them inside one transaction with the event's completion). Every function is idempotent and
order-proof: it compares Clerk's ``updated_at`` with the one stored and leaves newer data
alone, and a deleted Clerk id (Clerk never revives one) makes any later-arriving event about
it stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.identity import retention
from app.models import (
    ClerkDeletion,
    ClerkUser,
    Membership,
    MembershipRole,
    Organization,
    User,
)
from app.people import add_person
from app.tenancy.hosts import subdomain_problem


class RetryLater(Exception):
    """Something this event needs has not been synced yet (Clerk does not guarantee order)."""


class PermanentFailure(Exception):
    """Retrying cannot help; the event is recorded as failed with this message."""


class OrderConflict(RetryLater):
    """Another Clerk object holds what this event needs (an e-mail address, a subdomain).
    Usually an older event that frees it has not arrived yet, so it is retried, but only
    ``WEBHOOK_CONFLICT_MAX_ATTEMPTS`` times: a real clash must reach a person."""


class Skipped(Exception):
    """The event must change nothing (e.g. its organization was deleted); recorded as
    completed with this reason."""


class InvalidEvent(PermanentFailure):
    """The event's data is not what Clerk sends; the same payload would fail every time."""


# Clerk times are milliseconds since 1970; anything outside these years is not one.
_EARLIEST_MS = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000)
_LATEST_MS = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp() * 1000)


def clerk_time(milliseconds: object, field: str = "updated_at") -> datetime | None:
    """A Clerk timestamp (milliseconds) as a datetime; ``InvalidEvent`` if it is not one."""
    if milliseconds is None:
        return None
    if (
        isinstance(milliseconds, bool)
        or not isinstance(milliseconds, int | float)
        or not _EARLIEST_MS <= milliseconds < _LATEST_MS
    ):
        raise InvalidEvent(
            f"'{field}' is {str(milliseconds)[:40]!r}, not a Clerk time (milliseconds since "
            "1970, between the years 2000 and 2200)."
        )
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def event_version(event: dict) -> datetime:
    """The Clerk time an event's data is as of: ``data.updated_at``, else the event's time."""
    data = event.get("data") or {}
    return (
        clerk_time(data.get("updated_at"))
        or clerk_time(event.get("timestamp"), "timestamp")
        or clock.now()
    )


def _is_deleted(clerk_id: str | None) -> bool:
    return clerk_id is not None and db.session.get(ClerkDeletion, clerk_id) is not None


def _record_deletion(clerk_id: str, object_type: str, when: datetime) -> None:
    db.session.execute(
        insert(ClerkDeletion)
        .values(clerk_id=clerk_id, object_type=object_type, deleted_at=when)
        .on_conflict_do_nothing(index_elements=["clerk_id"])
    )


def _one_at_a_time(clerk_id: str) -> None:
    """Events about one Clerk object wait for each other (a transaction-level advisory lock),
    so that each sees what the previous one committed: without it a ``user.created`` and a
    newer ``user.updated`` for a new id could both find no user and race to create one."""
    db.session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(clerk_id, 0)))
    )


def _locked(query):
    """``SELECT … FOR UPDATE``: concurrent events about one object apply one after another,
    each comparing versions with what the previous one committed."""
    model = query.column_descriptions[0]["entity"]  # not eagerly joined tables (outer joins)
    return db.session.scalar(
        query.with_for_update(of=model).execution_options(populate_existing=True)
    )


def _is_older(version: datetime, stored: datetime | None) -> bool:
    return stored is not None and version < stored


# --- users -------------------------------------------------------------------------------


def primary_email(data: dict) -> tuple[str | None, bool]:
    """The primary e-mail address (lower-cased) and whether Clerk has verified it."""
    primary_id = data.get("primary_email_address_id")
    for address in data.get("email_addresses") or []:
        if address.get("id") == primary_id and address.get("email_address"):
            verified = (address.get("verification") or {}).get("status") == "verified"
            return address["email_address"].strip().lower(), verified
    return None, False


def _name(data: dict, key: str) -> str:
    return (data.get(key) or "")[:64]


def sync_user(data: dict, version: datetime, school_id: int | None = None) -> str:
    clerk_id = data["id"]
    _one_at_a_time(clerk_id)
    if _is_deleted(clerk_id):
        return f"user {clerk_id} was deleted in Clerk; this older event changes nothing"
    link = _locked(sa.select(ClerkUser).where(ClerkUser.clerk_user_id == clerk_id))
    if link is not None and _is_older(version, link.clerk_updated_at):
        return f"stale: CourseCove already has user {clerk_id} as of {link.clerk_updated_at}"
    email, verified = primary_email(data)
    if email is None:
        raise PermanentFailure(
            f"Clerk user {clerk_id} has no primary e-mail address; CourseCove needs one."
        )
    if len(email) > 320:
        raise PermanentFailure(f"Clerk user {clerk_id} has an e-mail address over 320 characters.")
    holder = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
    # Messages name Clerk ids and user ids, never the address: they are logged and answered.
    if holder is not None and (link is None or holder.id != link.user_id):
        _refuse_taken_email(clerk_id, holder, linking=link is None, verified=verified)

    if link is None:
        if holder is not None:
            user, action = holder, "linked to the existing account"
        else:
            user = add_person(
                email, _name(data, "first_name"), _name(data, "last_name"), username=clerk_id
            )
            action = "created"
        link = ClerkUser(clerk_user_id=clerk_id, user_id=user.id, clerk_updated_at=version)
        db.session.add(link)
    else:
        user = db.session.get(User, link.user_id)
        action = "updated"

    user.email = email
    user.first_name, user.last_name = _name(data, "first_name"), _name(data, "last_name")
    link.clerk_updated_at = version
    return f"user {user.id} (Clerk {clerk_id}) {action}"


def _refuse_taken_email(clerk_id: str, holder: User, *, linking: bool, verified: bool) -> None:
    """The primary address of ``clerk_id`` is another account's: wait or refuse."""
    other = db.session.scalar(sa.select(ClerkUser).where(ClerkUser.user_id == holder.id))
    if other is not None:
        # Another Clerk user has it: most likely its own update moving away has not arrived.
        raise OrderConflict(
            f"the primary e-mail address of Clerk user {clerk_id} belongs to Clerk user "
            f"{other.clerk_user_id} (user {holder.id}); {clerk_id} was not "
            f"{'linked' if linking else 'updated'}."
        )
    if not linking:
        raise PermanentFailure(
            f"Cannot change the e-mail of Clerk user {clerk_id}: CourseCove account "
            f"{holder.id}, not synced from Clerk, uses that address."
        )
    if not verified:
        raise PermanentFailure(
            f"The e-mail address of Clerk user {clerk_id} belongs to an existing CourseCove "
            f"account ({holder.id}) and Clerk has not verified it; {clerk_id} was not linked."
        )


def delete_user(data: dict, version: datetime, school_id: int | None = None) -> str:
    """Deactivate, never delete: their bookings and history stay. The personal data in the
    stored deliveries about them is erased (``service.erase_person``, same transaction)."""
    clerk_id = data["id"]
    _one_at_a_time(clerk_id)
    _record_deletion(clerk_id, "user", version)
    link = _locked(sa.select(ClerkUser).where(ClerkUser.clerk_user_id == clerk_id))
    if link is None:
        erased = retention.erase_person(clerk_id)
        return f"user {clerk_id} was never synced; remembered as deleted, {erased} erased"
    user = db.session.get(User, link.user_id)
    user.active = False
    link.clerk_updated_at = max(version, link.clerk_updated_at)
    erased = retention.erase_person(clerk_id)
    return f"user {user.id} (Clerk {clerk_id}) deactivated; {erased} stored event(s) erased"


# --- schools -----------------------------------------------------------------------------


def _time_zone(data: dict) -> str | None:
    name = (data.get("public_metadata") or {}).get("time_zone")
    if not isinstance(name, str) or not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def sync_school(data: dict, version: datetime, school_id: int | None = None) -> str:
    clerk_id = data["id"]
    _one_at_a_time(clerk_id)
    if _is_deleted(clerk_id):
        return f"organization {clerk_id} was deleted in Clerk; this older event changes nothing"
    school = _locked(sa.select(Organization).where(Organization.clerk_org_id == clerk_id))
    if school is not None and _is_older(version, school.clerk_updated_at):
        return f"stale: CourseCove already has {school.subdomain} as of {school.clerk_updated_at}"
    name = (data.get("name") or "").strip()[:120]
    slug = (data.get("slug") or "").strip().lower()
    problem = subdomain_problem(slug) if slug else "Clerk sent no slug."
    if problem:
        raise PermanentFailure(
            f"Clerk organization {clerk_id} ({name}) has slug {slug!r}, "
            f"which cannot be a CourseCove subdomain: {problem}"
        )
    holder = db.session.scalar(sa.select(Organization).where(Organization.subdomain == slug))
    if holder is not None and (school is None or holder.id != school.id):
        if holder.clerk_org_id is not None:
            # Another Clerk organization: its own rename away may not have arrived yet.
            raise OrderConflict(
                f"the subdomain {slug!r} is used by Clerk organization {holder.clerk_org_id} "
                f"({holder.name}); Clerk organization {clerk_id} ({name}) was not synced."
            )
        raise PermanentFailure(
            f"The subdomain {slug!r} is already used by {holder.name}; "
            f"Clerk organization {clerk_id} ({name}) was not synced."
        )
    if school is None:
        school = Organization(
            clerk_org_id=clerk_id,
            subdomain=slug,
            name=name or slug,
            time_zone=_time_zone(data) or "UTC",
            active=True,
        )
        db.session.add(school)
        action = "created"
    else:
        school.name, school.subdomain = name or slug, slug
        school.time_zone = _time_zone(data) or school.time_zone
        action = "updated"
    school.clerk_updated_at = version
    db.session.flush()
    return f"school {school.id} ({slug}) {action}"


def delete_school(data: dict, version: datetime, school_id: int | None = None) -> str:
    clerk_id = data["id"]
    _one_at_a_time(clerk_id)
    _record_deletion(clerk_id, "organization", version)
    school = _locked(sa.select(Organization).where(Organization.clerk_org_id == clerk_id))
    if school is None:
        return f"organization {clerk_id} was never synced; remembered as deleted"
    school.active = False
    school.clerk_updated_at = max(version, school.clerk_updated_at or version)
    return f"school {school.id} ({school.subdomain}) deactivated"


# --- memberships -------------------------------------------------------------------------


def membership_school(event: dict) -> int | None:
    """The school a membership event belongs to (its tenant), or ``None`` when there is none
    to change. A membership of an organization not synced yet has to wait."""
    data = event["data"]
    clerk_org_id = (data.get("organization") or {}).get("id")
    school_id = db.session.scalar(
        sa.select(Organization.id).where(Organization.clerk_org_id == clerk_org_id)
    )
    if school_id is not None:
        return school_id
    if event["type"].endswith(".deleted") or _is_deleted(clerk_org_id):
        return None
    raise RetryLater(f"organization {clerk_org_id} has not been synced yet")


def membership_role(data: dict) -> MembershipRole:
    config = current_app.config
    clerk_role = data.get("role")
    mapped = config["CLERK_ROLE_MAP"].get(clerk_role)
    if mapped is None:
        raise PermanentFailure(
            f"No CourseCove role for Clerk role {clerk_role!r}; add it to CLERK_ROLE_MAP."
        )
    try:
        role = MembershipRole(mapped)
    except ValueError as exc:
        raise PermanentFailure(
            f"CLERK_ROLE_MAP maps {clerk_role!r} to {mapped!r}, which is "
            "not admin, instructor or student."
        ) from exc
    metadata = data.get("public_metadata") or {}
    if (
        role is MembershipRole.STUDENT
        and metadata.get(config["CLERK_INSTRUCTOR_METADATA_KEY"]) == "instructor"
    ):
        role = MembershipRole.INSTRUCTOR
    return role


def _school_membership(school_id: int, *conditions) -> Membership | None:
    return _locked(
        sa.select(Membership).where(Membership.organization_id == school_id, *conditions)
    )


def sync_membership(data: dict, version: datetime, school_id: int | None = None) -> str:
    clerk_id = data["id"]
    _one_at_a_time(clerk_id)
    if _is_deleted(clerk_id):
        return f"membership {clerk_id} was deleted in Clerk; this older event changes nothing"
    clerk_org_id = (data.get("organization") or {}).get("id")
    if school_id is None or _is_deleted(clerk_org_id):
        # A late create must not revive anything in a deactivated school.
        raise Skipped(f"organization {clerk_org_id} was deleted in Clerk; membership not changed")
    clerk_user_id = (data.get("public_user_data") or {}).get("user_id")
    if _is_deleted(clerk_user_id):
        raise Skipped(f"user {clerk_user_id} was deleted in Clerk; membership not changed")
    link = db.session.get(ClerkUser, clerk_user_id) if clerk_user_id else None
    if link is None:
        raise RetryLater(f"user {clerk_user_id} has not been synced yet")
    role = membership_role(data)

    membership = _school_membership(school_id, Membership.clerk_membership_id == clerk_id)
    if membership is not None and membership.user_id != link.user_id:
        raise PermanentFailure(
            f"Clerk membership {clerk_id} belongs to another person here; refusing to move it."
        )
    membership = membership or _school_membership(school_id, Membership.user_id == link.user_id)
    if membership is not None and _is_older(version, membership.clerk_updated_at):
        return (
            f"stale: CourseCove already has membership {membership.id} as of "
            f"{membership.clerk_updated_at}"
        )
    if membership is None:
        membership = _insert_membership(school_id, link.user_id, clerk_id, role, version)
        return f"membership {membership.id} created ({role.value})"
    membership.role, membership.active = role, True
    membership.clerk_membership_id, membership.clerk_updated_at = clerk_id, version
    return f"membership {membership.id} updated ({role.value})"


def _insert_membership(
    school_id: int, user_id: int, clerk_id: str, role: MembershipRole, version: datetime
) -> Membership:
    membership = Membership(
        organization_id=school_id,
        user_id=user_id,
        role=role,
        active=True,
        clerk_membership_id=clerk_id,
        clerk_updated_at=version,
    )
    try:
        with db.session.begin_nested():
            db.session.add(membership)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint == "uq_memberships_clerk_membership_id":
            # RLS hides other schools' rows, but not from the unique index: the id is taken
            # by a membership of another school. Clerk never moves a membership.
            raise PermanentFailure(
                f"Clerk membership {clerk_id} already belongs to another "
                "school; refusing to move it."
            ) from exc
        raise
    return membership


def delete_membership(data: dict, version: datetime, school_id: int | None = None) -> str:
    """Deactivate, never delete: bookings and qualifications refer to the membership."""
    clerk_id = data["id"]
    _one_at_a_time(clerk_id)
    _record_deletion(clerk_id, "organization_membership", version)
    if school_id is None:
        return f"membership {clerk_id}: its organization is unknown or deleted; nothing to change"
    membership = _school_membership(school_id, Membership.clerk_membership_id == clerk_id)
    if membership is None:
        return f"membership {clerk_id} was never synced; remembered as deleted"
    membership.active = False
    membership.clerk_updated_at = max(version, membership.clerk_updated_at or version)
    return f"membership {membership.id} deactivated"


# --- dispatch ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Handler:
    apply: Callable[[dict, datetime, int | None], str]
    # For tenant rows: which school's tenant the work runs in (see service.run_event).
    school_of: Callable[[dict], int | None] | None = None


HANDLERS: dict[str, Handler] = {
    "user.created": Handler(sync_user),
    "user.updated": Handler(sync_user),
    "user.deleted": Handler(delete_user),
    "organization.created": Handler(sync_school),
    "organization.updated": Handler(sync_school),
    "organization.deleted": Handler(delete_school),
    "organizationMembership.created": Handler(sync_membership, membership_school),
    "organizationMembership.updated": Handler(sync_membership, membership_school),
    "organizationMembership.deleted": Handler(delete_membership, membership_school),
}
