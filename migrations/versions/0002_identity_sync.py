"""Identity sync from Clerk: webhook deliveries, Clerk user links, Clerk deletions, and the
Clerk ids of schools and memberships.

Revision ID: 0002_identity
Revises: 0001
Create Date: 2026-11-26 09:50:00

None of the new tables is tenant-owned (no RLS); ``memberships`` keeps its policy and only
gains columns. The grants are re-run so the application role can read the new tables
(sign-in looks up ``clerk_users``).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.tenancy.rls import grant_app_role

# revision identifiers, used by Alembic.
revision = '0002_identity'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('svix_id', sa.String(length=100), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=8), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'processing', 'completed', 'failed')", name='status_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('svix_id')
    )
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_events_status_next_attempt', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_events_event_type'), ['event_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_events_received_at'), ['received_at'], unique=False)

    op.create_table('clerk_users',
    sa.Column('clerk_user_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('clerk_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('clerk_user_id'),
    sa.UniqueConstraint('user_id')
    )
    op.create_table('clerk_deletions',
    sa.Column('clerk_id', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('clerk_id')
    )

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clerk_org_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('clerk_updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_organizations_clerk_org_id', ['clerk_org_id'])

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clerk_membership_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('clerk_updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_memberships_clerk_membership_id', ['clerk_membership_id'])

    for statement in grant_app_role():
        op.execute(statement)


def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_constraint('uq_memberships_clerk_membership_id', type_='unique')
        batch_op.drop_column('clerk_updated_at')
        batch_op.drop_column('clerk_membership_id')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_organizations_clerk_org_id', type_='unique')
        batch_op.drop_column('clerk_updated_at')
        batch_op.drop_column('clerk_org_id')

    op.drop_table('clerk_deletions')
    op.drop_table('clerk_users')
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_events_received_at'))
        batch_op.drop_index(batch_op.f('ix_webhook_events_event_type'))
        batch_op.drop_index('ix_webhook_events_status_next_attempt')

    op.drop_table('webhook_events')
