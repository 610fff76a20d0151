"""Least privilege for the web application's database role: it tries every write on every
table that is not tenant-owned, as a school request would (tenant set), and only what
``APP_ROLE_GRANTS`` allows gets past the permission check."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from app.extensions import db
from app.tenancy.rls import APP_ROLE_GRANTS
from app.tenancy.session import APP_BIND, SET_TENANT

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture(scope="module")
def app_engine(app):
    with app.app_context():
        return db.engines[APP_BIND]


@pytest.fixture(scope="module")
def tables(owner_engine) -> dict[str, bool]:
    """Every table, and whether it is tenant-owned (has the tenant policy)."""
    with owner_engine.connect() as connection:
        tenant = set(
            connection.scalars(
                sa.text(
                    "SELECT tablename FROM pg_policies "
                    "WHERE schemaname = 'public' AND policyname = 'tenant_isolation'"
                )
            )
        )
    return {name: name in tenant for name in sa.inspect(owner_engine).get_table_names()}


def _attempt(app_engine, org_id: int, statement: str) -> bool:
    """Run ``statement`` as the application role for a school request; False when
    PostgreSQL refuses it for lack of privilege (any other failure means it got past)."""
    with app_engine.connect() as connection, connection.begin() as transaction:
        connection.execute(SET_TENANT, {"org": str(org_id)})
        try:
            connection.execute(sa.text(statement))
        except ProgrammingError as error:
            # 42501 is also a row refused by RLS; only "permission denied" is a privilege.
            if isinstance(error.orig, psycopg.errors.InsufficientPrivilege) and (
                "permission denied" in str(error.orig)
            ):
                return False
        except sa.exc.DBAPIError:
            pass  # a constraint or a type error: the privilege check was passed
        finally:
            transaction.rollback()
    return True


def _statement(kind: str, table: str, column: str) -> str:
    return {
        "INSERT": f'INSERT INTO "{table}" DEFAULT VALUES',
        "UPDATE": f'UPDATE "{table}" SET "{column}" = "{column}" WHERE false',
        "DELETE": f'DELETE FROM "{table}" WHERE false',
        "SELECT": f'SELECT "{column}" FROM "{table}" WHERE false',
    }[kind]


def _allowed(table: str, kind: str, column: str) -> bool:
    for grant in APP_ROLE_GRANTS.get(table, []):
        name, _, columns = grant.partition(" ")
        if name == kind and (
            not columns or column in columns.strip("()").replace(" ", "").split(",")
        ):
            return True
    return False


def test_every_write_to_a_table_that_is_not_the_schools_is_refused(
    app_engine, owner_engine, tables, org_ids
):
    inspector = sa.inspect(owner_engine)
    unexpected = []
    for table, tenant_owned in sorted(tables.items()):
        if tenant_owned:
            continue
        columns = [column["name"] for column in inspector.get_columns(table)]
        for kind in WRITES:
            for column in columns if kind == "UPDATE" else columns[:1]:
                allowed = (
                    kind == "INSERT" and _allowed(table, kind, "") or _allowed(table, kind, column)
                )
                got = _attempt(app_engine, org_ids["musicschool"], _statement(kind, table, column))
                if got != allowed:
                    unexpected.append(f"{kind} {table}.{column}: {'allowed' if got else 'refused'}")
    assert not unexpected, "the application role's privileges differ from APP_ROLE_GRANTS:\n" + (
        "\n".join(unexpected)
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE organizations SET name = 'Hijacked' WHERE subdomain = 'yogastudio'",
        "UPDATE organizations SET active = false",
        "INSERT INTO ab_user_role (user_id, role_id) SELECT u.id, r.id FROM ab_user u, ab_role r"
        " WHERE u.email = 'grace@musicschool.demo' AND r.name = 'PlatformAdmin'",
        "UPDATE ab_user SET password = 'x' WHERE email = 'platform@coursecove.demo'",
        "UPDATE ab_user SET active = false",
        "SELECT password FROM ab_user",
        "SELECT * FROM ab_user",
        "UPDATE webhook_events SET status = status",
        "DELETE FROM clerk_users",
        "SELECT * FROM alembic_version",
    ],
)
def test_what_the_security_review_did_as_the_application_role_is_refused(
    app_engine, org_ids, statement
):
    assert not _attempt(app_engine, org_ids["musicschool"], statement), statement


def test_tenant_tables_stay_writable_for_the_school(app_engine, owner_engine, tables, org_ids):
    inspector = sa.inspect(owner_engine)
    refused = [
        f"{kind} {table}"
        for table, tenant_owned in tables.items()
        if tenant_owned
        for kind in WRITES
        if not _attempt(
            app_engine,
            org_ids["musicschool"],
            _statement(kind, table, inspector.get_columns(table)[0]["name"]),
        )
    ]
    assert not refused, refused
