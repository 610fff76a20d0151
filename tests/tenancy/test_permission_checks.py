"""Flask-AppBuilder's permission checks (app/tenancy/security.py): one read of a role's
permissions per request, never one per menu item, and never kept past the request."""

import pytest
import sqlalchemy as sa

from tests.conftest import statements_run


def _permission_queries(app, visitor, path: str) -> tuple[int, str]:
    """(statements that read role permissions, the page)."""
    with statements_run(app) as statements:
        response = visitor.get(path)
    assert response.status_code == 200, response.status_code
    return sum("ab_permission_view_role" in s for s in statements), response.get_data(as_text=True)


def test_a_platform_page_reads_the_admins_permissions_once(app, visit):
    # FAB checks every menu item, and every check was a query of its own (18 on this page).
    platform = visit(None, "platform@coursecove.demo")

    queries, page = _permission_queries(app, platform, "/organizationview/list/")

    assert 'href="/organizationview/list/"' in page
    assert queries == 1


def test_a_page_for_someone_not_signed_in_reads_the_public_permissions_once(app, visit):
    # Was 7: the Public role and its permissions read again for each menu item.
    queries, page = _permission_queries(app, visit("musicschool"), "/login/")

    assert 'name="password"' in page
    assert queries == 1


@pytest.fixture
def schools_menu_taken_away(owner_db):
    """Takes the Schools menu entry from PlatformAdmin when called; gives it back afterwards."""
    grant = sa.text(
        "SELECT pvr.id, pvr.permission_view_id, pvr.role_id FROM ab_permission_view_role pvr"
        " JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id"
        " JOIN ab_permission p ON p.id = pv.permission_id"
        " JOIN ab_view_menu v ON v.id = pv.view_menu_id"
        " JOIN ab_role r ON r.id = pvr.role_id"
        " WHERE p.name = 'menu_access' AND v.name = 'Schools' AND r.name = 'PlatformAdmin'"
    )
    taken = []

    def take() -> None:
        taken.extend(owner_db.execute(grant).all())
        owner_db.execute(sa.text("DELETE FROM ab_permission_view_role WHERE id = :id"),
                         [{"id": row.id} for row in taken])  # fmt: skip
        owner_db.commit()

    yield take
    owner_db.rollback()
    for row in taken:
        owner_db.execute(
            sa.text("INSERT INTO ab_permission_view_role VALUES (:id, :pv, :role)"),
            {"id": row.id, "pv": row.permission_view_id, "role": row.role_id},
        )
    owner_db.commit()


def test_a_permission_taken_away_is_gone_from_the_next_page(app, visit, schools_menu_taken_away):
    platform = visit(None, "platform@coursecove.demo")
    with app.app_context():  # both requests share it, as in a test or a CLI command
        before = platform.get("/").get_data(as_text=True)
        schools_menu_taken_away()
        after = platform.get("/").get_data(as_text=True)

    assert 'href="/organizationview/list/"' in before
    assert 'href="/organizationview/list/"' not in after


def test_a_process_starting_on_a_prepared_database_leaves_the_permissions_alone(
    app, database_url, redis_url
):
    # Every web, worker and beat process used to sync FAB's permissions as it started: ~500
    # statements each, writing whatever was missing. prepare_database() alone does, per release.
    from app import create_app
    from config import TestConfig

    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        started = create_app(TestConfig, {"DATABASE_URL": database_url, "REDIS_URL": redis_url})
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)

    writes = [
        s for s in statements if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == [] and len(statements) < 20, f"{len(statements)}: {statements[:20]}"
    assert "SchoolAdmin" in started.config["FAB_ROLES"]
