"""Webhook deliveries: what a completed attempt did, and payloads that retention removes.

Revision ID: 0013_webhook_retention
Revises: 0012_school_branding

``payload`` becomes nullable: the retention task and a ``user.deleted`` remove it (personal
data) and keep the row (svix-id for idempotency, type, status, times). ``detail`` keeps what
the completing attempt did (e.g. why a late membership was skipped).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_webhook_retention"
down_revision = "0012_school_branding"
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("webhook_events", "payload", nullable=True)
    op.add_column("webhook_events", sa.Column("detail", sa.Text(), nullable=True))
    op.add_column(
        "webhook_events", sa.Column("payload_cut_at", sa.DateTime(timezone=True), nullable=True)
    )
    # The retention task looks for old completed rows that still have a payload.
    op.create_index(
        "ix_webhook_events_payload_kept",
        "webhook_events",
        ["received_at"],
        postgresql_where=sa.text("payload IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_webhook_events_payload_kept", table_name="webhook_events")
    op.drop_column("webhook_events", "payload_cut_at")
    op.drop_column("webhook_events", "detail")
    op.execute("UPDATE webhook_events SET payload = '{}'::jsonb WHERE payload IS NULL")
    op.alter_column("webhook_events", "payload", nullable=False)
