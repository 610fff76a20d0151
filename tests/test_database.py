"""Migrations build the whole schema; the demo loads idempotently."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from app.demo import load_demo
from app.extensions import db
from app.models import AppointmentType, InstructorQualification, Location, Membership, Organization
from app.tenancy import privileged

COUNTED = [Organization, Membership, Location, AppointmentType, InstructorQualification]


def test_migrations_leave_no_drift_between_models_and_schema(app_context):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)

    assert differences == [], f"models and migrations differ: {differences}"


def test_migrations_form_one_line_with_one_head():
    """Two branches that each added a migration on the same parent leave two heads, and
    ``flask db upgrade`` on a real server refuses to run."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    migrations = Path(__file__).resolve().parent.parent / "migrations"
    config = Config(str(migrations / "alembic.ini"))
    config.set_main_option("script_location", str(migrations))
    heads = ScriptDirectory.from_config(config).get_heads()

    assert len(heads) == 1, f"migrations have {len(heads)} heads: {heads}"


def test_demo_loads_twice_without_duplicating_anything(app_context):
    def counts() -> dict[str, int]:
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}

    with privileged():
        before = counts()
        load_demo()
        after = counts()

    assert after == before
    assert before["Organization"] >= 2 and before["Membership"] >= 18
