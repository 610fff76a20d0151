"""Session versions: signing out or changing the password ends every earlier session.

Revision ID: 0009_session_versions
Revises: 0008_meeting_links
Create Date: 2026-11-29 16:10:00

Not tenant-owned: a person's sessions span schools. See app/security/sessions.py.
"""

import sqlalchemy as sa
from alembic import op

from app.tenancy.rls import grant_app_role

revision = "0009_session_versions"
down_revision = "0008_meeting_links"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "session_versions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    for statement in grant_app_role():
        op.execute(statement)


def downgrade():
    op.drop_table("session_versions")
