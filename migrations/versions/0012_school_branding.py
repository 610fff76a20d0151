"""A school's time format (12h/24h), its colour, and its logo (tenant-owned, RLS).

Revision ID: 0012_school_branding
Revises: 0011_notifications
Create Date: 2026-12-03 06:40:00

Existing schools get the time format people use in their zone (New York 12-hour, London
24-hour), the same default a new school gets.
"""

import sqlalchemy as sa
from alembic import op

from app.scheduling.time_format import default_time_format
from app.tenancy.rls import enable_tenant_rls, grant_app_role

revision = "0012_school_branding"
down_revision = "0011_notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "organizations",
        sa.Column("time_format", sa.String(length=3), nullable=False, server_default="24h"),
    )
    op.add_column("organizations", sa.Column("brand_colour", sa.String(length=7), nullable=True))
    op.create_check_constraint(
        "organizations_time_format", "organizations", "time_format IN ('12h', '24h')"
    )
    op.create_check_constraint(
        "organizations_brand_colour", "organizations", "brand_colour ~ '^#[0-9a-fA-F]{6}$'"
    )
    bind = op.get_bind()
    for school_id, zone in bind.execute(sa.text("SELECT id, time_zone FROM organizations")):
        bind.execute(
            sa.text("UPDATE organizations SET time_format = :f WHERE id = :id"),
            {"f": default_time_format(zone).value, "id": school_id},
        )
    op.create_table(
        "school_logos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Integer(),
            sa.ForeignKey("organizations.id", ondelete="RESTRICT"),
            nullable=False,
            index=True,
        ),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("organization_id", name="uq_school_logos_org"),
        sa.UniqueConstraint("organization_id", "id", name="uq_school_logos_org_id"),
        sa.CheckConstraint(
            "content_type IN ('image/png', 'image/jpeg')", name="school_logos_content_type"
        ),
        sa.CheckConstraint("octet_length(content) <= 524288", name="school_logos_size"),
    )
    for statement in enable_tenant_rls("school_logos"):
        op.execute(statement)
    for statement in grant_app_role():
        op.execute(statement)


def downgrade():
    op.drop_table("school_logos")
    op.drop_constraint("organizations_brand_colour", "organizations")
    op.drop_constraint("organizations_time_format", "organizations")
    op.drop_column("organizations", "brand_colour")
    op.drop_column("organizations", "time_format")
