"""Could the schema be distributed by ``organization_id`` (Citus)? What can be checked on the
real migrated schema here, without Citus: every tenant table's primary key and unique
constraints, and every foreign key between tenant tables, include ``organization_id``
(docs/deployment.md, "Very many schools")."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

TENANT_KEY = "organization_id"

# Constraints and their columns, from the catalog (what the migrations made, not the models).
CONSTRAINTS = sa.text(
    """
    SELECT c.conname, c.contype, rel.relname AS table_name,
           ref.relname AS referenced_table,
           ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(num, pos)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
                 ORDER BY k.pos) AS columns,
           ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(num, pos)
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num
                 ORDER BY k.pos) AS referenced_columns
    FROM pg_constraint c
    JOIN pg_class rel ON rel.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = rel.relnamespace AND n.nspname = 'public'
    LEFT JOIN pg_class ref ON ref.oid = c.confrelid
    WHERE c.contype IN ('p', 'u', 'f')
    """
)
NULLABLE_TENANT_KEY = sa.text(
    """
    SELECT table_name FROM information_schema.columns
    WHERE table_schema = 'public' AND column_name = :key AND is_nullable = 'YES'
    """
)
TENANT_TABLES = sa.text(
    """
    SELECT table_name FROM information_schema.columns
    WHERE table_schema = 'public' AND column_name = :key
    """
)


POLICIES = sa.text("SELECT DISTINCT tablename FROM pg_policies WHERE schemaname = 'public'")

# What distributing by organization_id would still have to change, found by these tests and
# listed in docs/deployment.md ("Very many schools"). A test fails when the schema drifts
# from this list either way: a new gap, or a gap closed without updating the document.
# Notifications also mail people outside any school (NULL organization_id): no composite key.
KEYS_WITHOUT_ORGANIZATION_ID = {
    # Unique across all schools today; per school, or a lookup (reference) table, in Citus.
    "calendar_feeds.uq_calendar_feeds_token_hash (token_hash)",
    "invitations.invitations_token_hash_key (token_hash)",
    "memberships.uq_memberships_clerk_membership_id (clerk_membership_id)",
    "booking_reminders.uq_booking_reminders_seat_offset_start "
    "(attendee_id, minutes_before, lesson_starts_at)",
    "appointment_type_locations.appointment_type_locations_pkey (appointment_type_id, location_id)",
    "notifications.notifications_pkey (id)",
}
FOREIGN_KEYS_WITHOUT_ORGANIZATION_ID = {
    "booking_reminders.booking_reminders_notification_id_fkey -> notifications",
}
NULLABLE_ORGANIZATION_ID = {"notifications"}


@pytest.fixture(scope="module")
def schema(owner_engine):
    with owner_engine.connect() as connection:
        tenant_tables = set(connection.scalars(TENANT_TABLES, {"key": TENANT_KEY}))
        constraints = connection.execute(CONSTRAINTS).mappings().all()
        nullable = set(connection.scalars(NULLABLE_TENANT_KEY, {"key": TENANT_KEY}))
        policies = set(connection.scalars(POLICIES))
    return tenant_tables, constraints, nullable, policies


def _keys(constraints, tables) -> list:
    return [c for c in constraints if c["contype"] in ("p", "u") and c["table_name"] in tables]


def _with_composite_key(constraints, tables) -> set[str]:
    return {
        c["table_name"]
        for c in _keys(constraints, tables)
        if sorted(c["columns"]) == sorted([TENANT_KEY, "id"])
    }


def test_the_schema_has_tenant_tables_to_check(schema):
    tenant_tables, *_ = schema
    assert {"bookings", "memberships", "locations"} <= tenant_tables, sorted(tenant_tables)


def test_every_tenant_table_with_an_id_has_the_composite_key(schema):
    """(organization_id, id) unique: what composite foreign keys point at, and what becomes
    the primary key of a distributed table."""
    tenant_tables, constraints, *_ = schema
    composite = _with_composite_key(constraints, tenant_tables)
    with_id = {c["table_name"] for c in _keys(constraints, tenant_tables) if c["columns"] == ["id"]}
    missing = sorted(with_id - composite - NULLABLE_ORGANIZATION_ID)
    assert missing == [], f"tenant tables without a unique ({TENANT_KEY}, id): {missing}"


def test_tenant_keys_other_than_the_id_include_organization_id(schema):
    """Citus needs the distribution column in every primary and unique key. Every
    ``PRIMARY KEY (id)`` is paired with a unique (organization_id, id) (previous test),
    which becomes the primary key; anything else is a listed gap."""
    tenant_tables, constraints, *_ = schema
    composite = _with_composite_key(constraints, tenant_tables)
    gaps = {
        f"{c['table_name']}.{c['conname']} ({', '.join(c['columns'])})"
        for c in _keys(constraints, tenant_tables)
        if TENANT_KEY not in c["columns"]
        and not (c["contype"] == "p" and c["columns"] == ["id"] and c["table_name"] in composite)
    }
    assert gaps == KEYS_WITHOUT_ORGANIZATION_ID, (
        f"keys without {TENANT_KEY}: new {sorted(gaps - KEYS_WITHOUT_ORGANIZATION_ID)}, "
        f"gone {sorted(KEYS_WITHOUT_ORGANIZATION_ID - gaps)} (update docs/deployment.md)"
    )


def test_every_foreign_key_between_tenant_tables_includes_organization_id(schema):
    tenant_tables, constraints, *_ = schema
    gaps = {
        f"{c['table_name']}.{c['conname']} -> {c['referenced_table']}"
        for c in constraints
        if c["contype"] == "f"
        and c["table_name"] in tenant_tables
        and c["referenced_table"] in tenant_tables
        and (TENANT_KEY, TENANT_KEY)
        not in list(zip(c["columns"], c["referenced_columns"], strict=True))
    }
    assert gaps == FOREIGN_KEYS_WITHOUT_ORGANIZATION_ID, (
        f"foreign keys between tenant tables without {TENANT_KEY}: new "
        f"{sorted(gaps - FOREIGN_KEYS_WITHOUT_ORGANIZATION_ID)}, gone "
        f"{sorted(FOREIGN_KEYS_WITHOUT_ORGANIZATION_ID - gaps)} (update docs/deployment.md)"
    )


def test_organization_id_is_required_except_where_listed(schema):
    _, _, nullable, _ = schema
    assert nullable == NULLABLE_ORGANIZATION_ID, f"nullable {TENANT_KEY}: {sorted(nullable)}"


def test_every_tenant_table_has_a_row_level_security_policy(schema):
    tenant_tables, _, _, policies = schema
    missing = sorted(tenant_tables - policies)
    assert missing == [], f"tenant tables without an RLS policy: {missing}"
