"""Fixtures for the security tests: what the whole database holds (to prove an attack wrote
nothing), and a visitor whose requests carry no CSRF token while protection is on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask

from app.models import SchoolClosure

# Columns a sign-in updates by itself (FAB's login statistics): not a write an attack made.
VOLATILE_COLUMNS = {"ab_user": {"last_login", "login_count", "fail_login_count", "changed_on"}}


def database_state(engine: sa.Engine) -> dict[str, str]:
    """Every table's content as one digest per table, read on the privileged connection."""
    inspector = sa.inspect(engine)
    state = {}
    with engine.connect() as connection:
        for table in inspector.get_table_names():
            columns = [
                column["name"]
                for column in inspector.get_columns(table)
                if column["name"] not in VOLATILE_COLUMNS.get(table, set())
            ]
            row = ", ".join(f'"{name}"' for name in columns)
            state[table] = connection.scalar(
                sa.text(
                    f"SELECT count(*) || ':' || md5(coalesce(string_agg(row_text, '|' "
                    f"ORDER BY row_text), '')) FROM (SELECT ROW({row})::text AS row_text "
                    f'FROM "{table}") AS rows'
                )
            )
    return state


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
