"""Bookings remember how often they changed and when: ``sequence`` and ``updated_at``.

Revision ID: 0005_booking_sequence
Revises: 0004_merge
Create Date: 2026-11-29 15:40:00

Calendar apps recognise an event by its UID and take a new version only when its SEQUENCE is
higher (RFC 5545 3.8.7.4); LAST-MODIFIED and the feeds' ETag / Last-Modified come from
``updated_at``. Existing rows start at sequence 0, last changed when they were cancelled or
created.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_booking_sequence"
down_revision = "0004_merge"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sequence", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("now()"),
                nullable=False,
            )
        )
    op.execute("UPDATE bookings SET updated_at = COALESCE(cancelled_at, created_at)")


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("sequence")
