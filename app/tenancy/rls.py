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


# What the web application's role may do on tables that are not tenant-owned. Everything
# else is written by the privileged connection only (migrations, platform admin, webhooks,
# tasks, sign-in's password check). A new table the web application needs that has no
# tenant policy must be added here; tenant-owned tables (with the tenant policy) get
# SELECT/INSERT/UPDATE/DELETE automatically.
APP_ROLE_GRANTS: dict[str, list[str]] = {
    "organizations": ["SELECT"],  # a school's own settings are saved privileged, see views
    # Accounts: no password hash to read, none to overwrite (password changes are
    # privileged); new accounts (sign-up, an admin adding a person) may be inserted.
    "ab_user": [
        "SELECT (id, first_name, last_name, username, active, email, last_login, login_count,"
        " fail_login_count, created_on, changed_on, created_by_fk, changed_by_fk)",
        "INSERT",
        "UPDATE (first_name, last_name, last_login, login_count, fail_login_count, changed_on,"
        " changed_by_fk)",
    ],
    "ab_user_role": ["SELECT"],
    "ab_role": ["SELECT"],
    "ab_permission": ["SELECT"],
    "ab_view_menu": ["SELECT"],
    "ab_permission_view": ["SELECT"],
    "ab_permission_view_role": ["SELECT"],
    "ab_group": ["SELECT"],
    "ab_user_group": ["SELECT"],
    "ab_group_role": ["SELECT"],
    "clerk_users": ["SELECT"],  # Clerk sign-in finds the linked account
    "session_versions": ["SELECT", "INSERT", "UPDATE"],  # sign-out ends sessions
    # "Forgot password?" on a school's site: the link (its token hashed) is made, read, spent.
    "password_resets": ["SELECT", "INSERT", "UPDATE"],
}


def grant_app_role() -> list[str]:
    """Least privilege, recomputed from the live schema each time a migration calls it:
    DML on every table with the tenant policy, ``APP_ROLE_GRANTS`` on the others (those
    that exist yet), nothing on the rest."""
    grants = " ".join(
        f"IF to_regclass('public.{table}') IS NOT NULL THEN "
        f"EXECUTE 'GRANT {privilege} ON {table} TO {APP_DB_ROLE}'; END IF;"
        for table, privileges in APP_ROLE_GRANTS.items()
        for privilege in privileges
    )
    return [
        f"GRANT USAGE ON SCHEMA public TO {APP_DB_ROLE}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_DB_ROLE}",
        f"""DO $$ DECLARE tenant_table text; granted record; BEGIN
            -- Column grants outlive a table-wide REVOKE: clear them too.
            FOR granted IN
                SELECT DISTINCT table_name, column_name FROM information_schema.column_privileges
                WHERE grantee = '{APP_DB_ROLE}' AND table_schema = 'public'
            LOOP
                EXECUTE format('REVOKE ALL (%I) ON %I FROM {APP_DB_ROLE}',
                               granted.column_name, granted.table_name);
            END LOOP;
            FOR tenant_table IN
                SELECT tablename FROM pg_policies
                WHERE schemaname = 'public' AND policyname = 'tenant_isolation'
            LOOP
                EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO {APP_DB_ROLE}',
                               tenant_table);
            END LOOP;
            {grants}
        END $$""",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_DB_ROLE}",
    ]
