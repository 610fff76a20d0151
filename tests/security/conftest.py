"""Fixtures for the security tests: what the whole database holds (to prove an attack wrote
nothing), and a visitor whose requests carry no CSRF token while protection is on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask

from app.models import SchoolClosure

# Columns a sign-in updates by itself (FAB's login statistics): not a write an attack made.
VOLATILE_COLUMNS = {"ab_user": {"last_login", "login_count", "fail_login_count", "changed_on"}}


def database_state(engine: sa.Engine, school_id: int | None = None) -> dict[str, str]:
    """Every table's content as one digest per table, read on the privileged connection;
    with ``school_id``, only that school's rows (its tenant rows and its own row)."""
    inspector = sa.inspect(engine)
    state = {}
    with engine.connect() as connection:
        for table in inspector.get_table_names():
            columns = [
                column["name"]
                for column in inspector.get_columns(table)
                if column["name"] not in VOLATILE_COLUMNS.get(table, set())
            ]
            where = ""
            if school_id is not None:
                if "organization_id" in columns:
                    where = f"WHERE organization_id = {int(school_id)}"
                elif table == "organizations":
                    where = f"WHERE id = {int(school_id)}"
                else:
                    continue
            row = ", ".join(f'"{name}"' for name in columns)
            state[table] = connection.scalar(
                sa.text(
                    f"SELECT count(*) || ':' || md5(coalesce(string_agg(row_text, '|' "
                    f"ORDER BY row_text), '')) FROM (SELECT ROW({row})::text AS row_text "
                    f'FROM "{table}" {where}) AS rows'
                )
            )
    return state


def write_marks(engine: sa.Engine) -> dict[str, tuple[int, int]]:
    """A cheap fingerprint for many checks in a row: per table, how many rows and the newest
    row version's transaction (an insert or update raises it, a delete lowers the count).
    One query for all tables."""
    tables = sa.inspect(engine).get_table_names()
    union = " UNION ALL ".join(
        f"SELECT '{table}', count(*), coalesce(max(xmin::text::bigint), 0) FROM \"{table}\""
        for table in tables
    )
    with engine.connect() as connection:
        return {name: (count, newest) for name, count, newest in connection.execute(sa.text(union))}


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        table for table in before.keys() | after.keys() if before.get(table) != after.get(table)
    )


@pytest.fixture
def unchanged(owner_engine) -> Callable[[], None]:
    """``unchanged()`` asserts that nothing in the database changed since the test began."""
    before = database_state(owner_engine)

    def check() -> None:
        tables = changed_tables(before, database_state(owner_engine))
        assert not tables, f"expected no writes, but these tables changed: {tables}"

    return check


@pytest.fixture
def school_unchanged(owner_engine, org_ids) -> Callable[[str], None]:
    """``school_unchanged("yogastudio")``: none of that school's rows changed since the
    test began."""
    before = {name: database_state(owner_engine, org_id) for name, org_id in org_ids.items()}

    def check(name: str) -> None:
        tables = changed_tables(before[name], database_state(owner_engine, org_ids[name]))
        assert not tables, f"{name}'s rows changed in: {tables}"

    return check


@pytest.fixture
def new_rows_removed(owner_engine) -> Iterator[None]:
    """Rows the test adds to tenant-owned tables and accounts (ids above today's highest)
    are deleted afterwards."""
    inspector = sa.inspect(owner_engine)
    tables = [
        table
        for table in inspector.get_table_names()
        if {"id", "organization_id"} <= {c["name"] for c in inspector.get_columns(table)}
    ] + ["ab_user"]  # people an admin form or a sign-up added
    with owner_engine.connect() as connection:
        highest = {
            table: connection.scalar(sa.text(f'SELECT coalesce(max(id), 0) FROM "{table}"'))
            for table in tables
        }
    yield
    with owner_engine.begin() as connection:
        for _ in range(3):  # children first, whatever the order: retry what a reference held
            for table, top in highest.items():
                try:
                    with connection.begin_nested():
                        connection.execute(
                            sa.text(f'DELETE FROM "{table}" WHERE id > :top'), {"top": top}
                        )
                except sa.exc.IntegrityError:
                    pass


@pytest.fixture
def csrf_on(app: Flask, monkeypatch) -> Callable[[], None]:
    """``csrf_on()`` switches CSRF protection on, as in production (TestConfig switches it off
    so that HTTP tests need no tokens); sign in first, the login form needs one too."""

    def switch_on() -> None:
        monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)

    return switch_on


@pytest.fixture
def closure(owner_db, org_ids):
    row = SchoolClosure(
        organization_id=org_ids["musicschool"],
        name="Forgery target",
        first_day=date(2031, 1, 2),
        last_day=date(2031, 1, 2),
    )
    owner_db.add(row)
    owner_db.commit()
    row_id = row.id
    yield row_id
    owner_db.rollback()
    owner_db.execute(sa.delete(SchoolClosure).where(SchoolClosure.id == row_id))
    owner_db.commit()
