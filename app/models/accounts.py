"""Links sent by e-mail that prove a person owns an address: invitations and password resets.

Only a hash of each token is stored (a database reader cannot use a pending link). A link is
single-use (``accepted_at`` / ``used_at``) and expires (``expires_at``); sending an invitation
again replaces its token, so an older e-mail stops working.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.models.base import TenantOwned, tenant_unique_id
from app.models.organization import MembershipRole, Organization, User


class InvitationPurpose(enum.StrEnum):
    INVITATION = "invitation"  # a school (or the platform) asked this address to join
    SIGNUP = "signup"  # the person asked, on the school's sign-up page


class Invitation(TenantOwned, Model):
    """An e-mailed link to join one school in one role, setting a password if none is set."""

    __tablename__ = "invitations"
    __table_args__ = (
        tenant_unique_id("invitations"),
        sa.CheckConstraint("purpose IN ('invitation', 'signup')", name="invitations_purpose"),
        sa.Index("ix_invitations_pending", "organization_id", "user_id", "accepted_at"),
    )

    # A person's links go with their account.
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False
    )
    role: Mapped[MembershipRole] = mapped_column(
        sa.Enum(
            MembershipRole,
            name="membership_role",
            values_callable=lambda e: [m.value for m in e],
            create_type=False,
        ),
        nullable=False,
    )
    purpose: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    sent_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    send_count: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    organization: Mapped[Organization] = relationship(Organization)
    user: Mapped[User] = relationship(User, foreign_keys=[user_id], lazy="joined")

    def is_expired(self) -> bool:
        return self.expires_at <= clock.now()


class PasswordReset(Model):
    """A "forgot password" link. Accounts are global, so this table is not tenant-owned; the
    school whose page asked is kept so the link works on that site only."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Not ``organization_id``: that name marks tenant-owned tables (RLS). NULL = the platform.
    school_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship(User, lazy="joined")

    def is_expired(self) -> bool:
        return self.expires_at <= clock.now()
