"""Meeting links for online lessons: per appointment type and per instructor.

Revision ID: 0008_meeting_links
Revises: 0007_accounts
Create Date: 2026-11-29 16:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_meeting_links"
down_revision = "0007_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "appointment_types", sa.Column("meeting_link", sa.String(length=500), nullable=True)
    )
    op.add_column("memberships", sa.Column("meeting_link", sa.String(length=500), nullable=True))


def downgrade():
    op.drop_column("memberships", "meeting_link")
    op.drop_column("appointment_types", "meeting_link")
