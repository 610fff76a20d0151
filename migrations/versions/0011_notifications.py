"""Notifications: the e-mail outbox, planned lesson reminders and their settings.

Revision ID: 0011_notifications
Revises: 0010_least_privilege

``notifications`` may belong to no school (platform account e-mails), so its Row-Level
Security policy compares ``organization_id IS NOT DISTINCT FROM`` the current school: a
school's transaction sees only its rows, a transaction without a school only the platform's.
"""

import sqlalchemy as sa
from alembic import op

from app.tenancy.rls import CURRENT_ORG, enable_tenant_rls, grant_app_role

revision = "0011_notifications"
down_revision = "0010_least_privilege"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "organizations",
        sa.Column("reminder_hours", sa.String(64), nullable=False, server_default="24, 1"),
    )
    op.add_column("appointment_types", sa.Column("reminder_hours", sa.String(64), nullable=True))
    op.add_column(
        "memberships",
        sa.Column("lesson_reminders", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("memberships", sa.Column("time_zone", sa.String(64), nullable=True))
    # Reminders are rows of their own now (booking_reminders), one per seat x offset x time.
    op.drop_column("booking_attendees", "reminder_sent_at")

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("reply_to", sa.String(254), nullable=True),
        sa.Column("calendar", sa.Text(), nullable=True),
        sa.Column("calendar_method", sa.String(16), nullable=True),
        sa.Column("attendee_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transport", sa.String(16), nullable=True),
        sa.Column("raw_message", sa.LargeBinary(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')", name="notifications_status_valid"
        ),
        sa.CheckConstraint(
            "transport IS NULL OR transport IN ('smtp', 'outbox')",
            name="notifications_transport_valid",
        ),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["organization_id", "attendee_id"],
            ["booking_attendees.organization_id", "booking_attendees.id"],
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_notifications_unfinished",
        "notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        "ix_notifications_org_created", "notifications", ["organization_id", "created_at"]
    )

    op.create_table(
        "booking_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("attendee_id", sa.Integer(), nullable=False),
        sa.Column("minutes_before", sa.Integer(), nullable=False),
        sa.Column("lesson_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'queued', 'skipped', 'cancelled')",
            name="booking_reminders_status_valid",
        ),
        sa.CheckConstraint("minutes_before > 0", name="booking_reminders_before_positive"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["organization_id", "attendee_id"],
            ["booking_attendees.organization_id", "booking_attendees.id"],
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "id", name="uq_booking_reminders_org_id"),
        sa.UniqueConstraint(
            "attendee_id",
            "minutes_before",
            "lesson_starts_at",
            name="uq_booking_reminders_seat_offset_start",
        ),
    )
    op.create_index(
        "ix_booking_reminders_due",
        "booking_reminders",
        ["due_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_booking_reminders_attendee", "booking_reminders", ["organization_id", "attendee_id"]
    )
    op.create_index(
        "ix_booking_reminders_organization_id", "booking_reminders", ["organization_id"]
    )

    for statement in enable_tenant_rls("booking_reminders"):
        op.execute(statement)
    op.execute("ALTER TABLE notifications ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE notifications FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON notifications "
        f"USING (organization_id IS NOT DISTINCT FROM {CURRENT_ORG}) "
        f"WITH CHECK (organization_id IS NOT DISTINCT FROM {CURRENT_ORG})"
    )
    for statement in grant_app_role():
        op.execute(statement)


def downgrade():
    op.drop_table("booking_reminders")
    op.drop_table("notifications")
    op.add_column(
        "booking_attendees",
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.drop_column("memberships", "time_zone")
    op.drop_column("memberships", "lesson_reminders")
    op.drop_column("appointment_types", "reminder_hours")
    op.drop_column("organizations", "reminder_hours")
