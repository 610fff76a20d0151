"""Merge the identity-sync and bookings branches (developed side by side on 0001).

Revision ID: 0004_merge
Revises: 0002_identity, 0003_bookings
"""

revision = "0004_merge"
down_revision = ("0002_identity", "0003_bookings")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
