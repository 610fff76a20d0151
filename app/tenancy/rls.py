"""Row-Level Security DDL, used by the migrations (the only thing that creates the schema).

Policies compare ``organization_id`` with ``NULLIF(current_setting('app.current_org', true),
'')::integer``: a missing or empty setting gives NULL, the comparison is never true, and the
transaction sees no tenant rows (never an error, never every row). ``FORCE`` makes the table
owner subject to the policies too; only a BYPASSRLS role or a superuser skips them, and the
web application's role is neither.
"""

from __future__ import annotations

from config import APP_DB_ROLE

CURRENT_ORG = "NULLIF(current_setting('app.current_org', true), '')::integer"


def enable_tenant_rls(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING (organization_id = {CURRENT_ORG}) "
        f"WITH CHECK (organization_id = {CURRENT_ORG})",
    ]


def create_app_role(password: str) -> list[str]:
    """The web application's login role: no ownership, no BYPASSRLS, only DML grants."""
    quoted = password.replace("'", "''")
    return [
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_DB_ROLE}') THEN
                CREATE ROLE {APP_DB_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{quoted}';
            END IF;
        END $$""",
        f"ALTER ROLE {APP_DB_ROLE} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
    ]


def set_app_role_password(password: str) -> str:
    quoted = password.replace("'", "''")
    return f"ALTER ROLE {APP_DB_ROLE} PASSWORD '{quoted}'"


def grant_app_role() -> list[str]:
    return [
        f"GRANT USAGE ON SCHEMA public TO {APP_DB_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_DB_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_DB_ROLE}",
        f"REVOKE ALL ON TABLE alembic_version FROM {APP_DB_ROLE}",
    ]
