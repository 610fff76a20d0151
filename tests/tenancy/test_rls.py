"""Row-Level Security at the SQL level, as the web application's own database role."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from config import APP_DB_ROLE

SET_ORG = sa.text("SELECT set_config('app.current_org', :org, true)")


@pytest.fixture
def app_role(app_context):
    """A raw connection as the application role (no ORM, no app-level filtering)."""
    with db.engines["app"].connect() as connection:
        yield connection


# Rows that may belong to a school or to the platform (NULL): their policy compares with
# IS NOT DISTINCT FROM; tests/notifications/test_outbox.py checks it.
SCHOOL_OR_PLATFORM = {"notifications"}


def tenant_tables() -> list[str]:
    return [
        t.name
        for t in db.metadata.sorted_tables
        if "organization_id" in t.c and t.name not in SCHOOL_OR_PLATFORM
    ]


def test_application_role_is_neither_owner_nor_bypassing(app_role):
    user, superuser, bypass = app_role.execute(
        sa.text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
    ).one()
    owners = set(
        app_role.execute(
            sa.text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
    )

    assert (user, superuser, bypass) == (APP_DB_ROLE, False, False)
    assert APP_DB_ROLE not in owners


@pytest.mark.parametrize("table", tenant_tables())
def test_every_tenant_table_has_forced_rls_and_not_null_org(app_role, table):
    enabled, forced = app_role.execute(
        sa.text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = :t"),
        {"t": table},
    ).one()
    nullable = app_role.execute(
        sa.text(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_name = :t AND column_name = 'organization_id'"
        ),
        {"t": table},
    ).scalar()

    assert (enabled, forced, nullable) == (True, True, "NO"), table


@pytest.mark.parametrize("table", tenant_tables())
def test_other_schools_rows_are_invisible(app_role, org_ids, table):
    with app_role.begin():
        app_role.execute(SET_ORG, {"org": str(org_ids["musicschool"])})
        visible_orgs = set(
            app_role.execute(sa.text(f"SELECT DISTINCT organization_id FROM {table}")).scalars()
        )

    assert visible_orgs <= {org_ids["musicschool"]}, f"{table}: saw {visible_orgs}"


@pytest.mark.parametrize("org_setting", [None, ""])
def test_no_school_set_means_no_rows(app_role, org_setting):
    with app_role.begin():
        if org_setting is not None:
            app_role.execute(SET_ORG, {"org": org_setting})
        counts = {
            t: app_role.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
            for t in tenant_tables()
        }

    assert set(counts.values()) == {0}, counts


def test_inserting_a_row_for_another_school_fails(app_role, org_ids):
    with pytest.raises(DBAPIError, match="row-level security"), app_role.begin():
        app_role.execute(SET_ORG, {"org": str(org_ids["musicschool"])})
        app_role.execute(
            sa.text(
                "INSERT INTO locations (organization_id, name, active) "
                "VALUES (:org, 'Smuggled', true)"
            ),
            {"org": org_ids["yogastudio"]},
        )


def test_updating_into_another_school_fails(app_role, org_ids):
    with pytest.raises(DBAPIError, match="row-level security"), app_role.begin():
        app_role.execute(SET_ORG, {"org": str(org_ids["musicschool"])})
        app_role.execute(
            sa.text("UPDATE locations SET organization_id = :other"),
            {"other": org_ids["yogastudio"]},
        )


def test_tenant_setting_does_not_leak_to_the_next_transaction(app_role, org_ids):
    with app_role.begin():
        app_role.execute(SET_ORG, {"org": str(org_ids["musicschool"])})
    with app_role.begin():
        leftover = app_role.execute(
            sa.text("SELECT current_setting('app.current_org', true)")
        ).scalar()
        rows = app_role.execute(sa.text("SELECT count(*) FROM locations")).scalar()

    assert (leftover or "", rows) == ("", 0)


def test_composite_foreign_key_refuses_a_cross_school_reference(owner_db, org_ids):
    """Even the privileged connection cannot make a qualification point into another school."""
    music, yoga = org_ids["musicschool"], org_ids["yogastudio"]
    yoga_instructor = owner_db.execute(
        sa.text(
            "SELECT id FROM memberships WHERE organization_id = :o AND role = 'instructor' LIMIT 1"
        ),
        {"o": yoga},
    ).scalar()
    music_type = owner_db.execute(
        sa.text("SELECT id FROM appointment_types WHERE organization_id = :o LIMIT 1"), {"o": music}
    ).scalar()

    with pytest.raises(DBAPIError, match="foreign key"):
        owner_db.execute(
            sa.text(
                "INSERT INTO instructor_qualifications "
                "(organization_id, instructor_id, appointment_type_id) VALUES (:o, :i, :t)"
            ),
            {"o": music, "i": yoga_instructor, "t": music_type},
        )


def test_orm_session_scopes_to_the_bound_school(app_context, org_ids):
    from app.models import Location
    from app.tenancy import tenant

    with tenant(org_ids["yogastudio"]):
        names = {location.name for location in db.session.scalars(sa.select(Location))}
    with tenant(None):
        nothing = db.session.scalars(sa.select(Location)).all()

    assert names == {"Camden Studio"}
    assert nothing == []
