"""Least privilege for the web application's role.

Revision ID: 0010_least_privilege
Revises: 0009_session_versions
Create Date: 2026-11-29 16:20:00

Until now the role had SELECT/INSERT/UPDATE/DELETE on every table: a school request could
update another school's ``organizations`` row, give itself ``PlatformAdmin`` through
``ab_user_role`` and read every password hash. ``grant_app_role()`` now grants DML on
tenant-owned tables (RLS) only, and ``APP_ROLE_GRANTS`` (app/tenancy/rls.py) on the rest.
"""

from alembic import op

from app.tenancy.rls import grant_app_role

revision = "0010_least_privilege"
down_revision = "0009_session_versions"
branch_labels = None
depends_on = None


def upgrade():
    for statement in grant_app_role():
        op.execute(statement)


def downgrade():
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO coursecove_app")
