"""Calendars: secret iCal feed URLs, instructors' own calendars and the busy times read from them.

Revision ID: 0006_calendars
Revises: 0005_booking_sequence
Create Date: 2026-11-29 15:45:00

All three tables are tenant-owned: RLS on, and the application role granted.
"""

import sqlalchemy as sa
from alembic import op

from app.tenancy.rls import enable_tenant_rls, grant_app_role

revision = "0006_calendars"
down_revision = "0005_booking_sequence"
branch_labels = None
depends_on = None

TENANT_TABLES = ["calendar_feeds", "external_calendars", "busy_times"]


def _tenant_columns():
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "organization_id",
            sa.Integer(),
            sa.ForeignKey("organizations.id", ondelete="RESTRICT"),
            nullable=False,
            index=True,
        ),
        sa.PrimaryKeyConstraint("id"),
    ]


def _fk(column, table, ondelete="CASCADE"):
    return sa.ForeignKeyConstraint(
        ["organization_id", column],
        [f"{table}.organization_id", f"{table}.id"],
        ondelete=ondelete,
    )


def upgrade():
    now = sa.text("now()")
    op.create_table(
        "calendar_feeds",
        *_tenant_columns(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.UniqueConstraint("organization_id", "id", name="uq_calendar_feeds_org_id"),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feeds_token_hash"),
        _fk("membership_id", "memberships"),
        _fk("location_id", "locations"),
        sa.CheckConstraint(
            "(kind IN ('instructor', 'student') AND membership_id IS NOT NULL "
            "AND location_id IS NULL) OR "
            "(kind = 'location' AND location_id IS NOT NULL AND membership_id IS NULL) OR "
            "(kind = 'school' AND membership_id IS NULL AND location_id IS NULL)",
            name="calendar_feeds_subject_matches_kind",
        ),
    )
    op.create_index(
        "uq_calendar_feeds_subject",
        "calendar_feeds",
        ["organization_id", "kind", sa.text("coalesce(membership_id, 0)"),
         sa.text("coalesce(location_id, 0)")],
        unique=True,
    )
    op.create_table(
        "external_calendars",
        *_tenant_columns(),
        sa.Column("instructor_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(500), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("busy_count", sa.Integer(), server_default="0", nullable=False),
        sa.UniqueConstraint("organization_id", "id", name="uq_external_calendars_org_id"),
        sa.UniqueConstraint("organization_id", "instructor_id", name="uq_external_calendars_one"),
        _fk("instructor_id", "memberships"),
    )
    op.create_table(
        "busy_times",
        *_tenant_columns(),
        sa.Column("instructor_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organization_id", "id", name="uq_busy_times_org_id"),
        _fk("instructor_id", "memberships"),
        _fk("calendar_id", "external_calendars"),
        sa.CheckConstraint("ends_at > starts_at", name="busy_times_end_after_start"),
    )
    op.create_index(
        "ix_busy_times_instructor", "busy_times", ["organization_id", "instructor_id", "ends_at"]
    )
    for table in TENANT_TABLES:
        for statement in enable_tenant_rls(table):
            op.execute(statement)
    for statement in grant_app_role():
        op.execute(statement)


def downgrade():
    op.drop_table("busy_times")
    op.drop_table("external_calendars")
    op.drop_table("calendar_feeds")
