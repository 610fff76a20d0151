"""Schools (organizations), people and their memberships."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from app import clock
from app.models.base import TenantOwned, tenant_unique_id
from app.scheduling.time_format import default_time_format, format_moment


def _time_format_of_zone(context) -> str:
    """A new school writes times as people in its zone do (New York 12-hour, London 24)."""
    return default_time_format(context.get_current_parameters().get("time_zone") or "UTC").value


class Organization(Model):
    """A school. Not tenant-owned itself: it *is* the tenant, and hosts are resolved from it."""

    __tablename__ = "organizations"
    __table_args__ = (
        sa.UniqueConstraint("clerk_org_id", name="uq_organizations_clerk_org_id"),
        sa.CheckConstraint("time_format IN ('12h', '24h')", name="organizations_time_format"),
        sa.CheckConstraint("brand_colour ~ '^#[0-9a-fA-F]{6}$'", name="organizations_brand_colour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    subdomain: Mapped[str] = mapped_column(sa.String(63), nullable=False, unique=True)
    time_zone: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="UTC")
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    active: Mapped[bool] = mapped_column(nullable=False, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    # Kept in step with a Clerk organization by app/identity (Clerk's own updated_at).
    clerk_org_id: Mapped[str | None] = mapped_column(sa.String(64))
    clerk_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Lesson reminders, hours before each lesson ("24, 1"; "none"); a type may override.
    reminder_hours: Mapped[str] = mapped_column(
        sa.String(64), nullable=False, default="24, 1", server_default="24, 1"
    )
    # "12h" or "24h": how every time is shown and prefilled (app.scheduling.time_format).
    time_format: Mapped[str] = mapped_column(
        sa.String(3), nullable=False, default=_time_format_of_zone, server_default="24h"
    )
    # The school's colour on its navbar ("#1f6feb"); its logo is a SchoolLogo row.
    brand_colour: Mapped[str | None] = mapped_column(sa.String(7))

    def __str__(self) -> str:
        return self.name


class SchoolLogo(TenantOwned, Model):
    """The school's logo image (PNG or JPEG, at most 512 KB), kept in the database so every
    web machine serves the same one. One per school; a new upload replaces the row, so a new
    id makes a new URL and the old one can be cached for ever."""

    __tablename__ = "school_logos"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", name="uq_school_logos_org"),
        tenant_unique_id("school_logos"),
        sa.CheckConstraint(
            "content_type IN ('image/png', 'image/jpeg')", name="school_logos_content_type"
        ),
        sa.CheckConstraint("octet_length(content) <= 524288", name="school_logos_size"),
    )

    content: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )


class MembershipRole(enum.StrEnum):
    ADMIN = "admin"
    INSTRUCTOR = "instructor"
    STUDENT = "student"

    @property
    def fab_role(self) -> str:
        """The Flask-AppBuilder role this membership grants on the school's subdomain."""
        return {"admin": "SchoolAdmin", "instructor": "Instructor", "student": "Student"}[
            self.value
        ]


class Membership(TenantOwned, Model):
    """A person's place in one school. FAB users and roles are global; this is per school."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "user_id", name="uq_memberships_org_user"),
        tenant_unique_id("memberships"),
        sa.UniqueConstraint("clerk_membership_id", name="uq_memberships_clerk_membership_id"),
    )

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("ab_user.id"), nullable=False)
    role: Mapped[MembershipRole] = mapped_column(
        sa.Enum(
            MembershipRole, name="membership_role", values_callable=lambda e: [m.value for m in e]
        ),
        nullable=False,
    )
    active: Mapped[bool] = mapped_column(nullable=False, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    # Kept in step with a Clerk organization membership by app/identity.
    # An instructor's own online room, used for their online lessons.
    meeting_link: Mapped[str | None] = mapped_column(sa.String(500))
    clerk_membership_id: Mapped[str | None] = mapped_column(sa.String(64))
    clerk_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # A student may turn lesson reminders off; confirmations and changes still go out.
    lesson_reminders: Mapped[bool] = mapped_column(
        nullable=False, default=True, server_default=sa.true()
    )
    # The person's own time zone, when known (their e-mails show times in it).
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))

    organization: Mapped[Organization] = relationship(Organization)
    user: Mapped[User] = relationship(User, lazy="joined")

    @property
    def full_name(self) -> str:
        return f"{self.user.first_name} {self.user.last_name}".strip()

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def account_status(self) -> str:
        """In words: has the person set up their account, or is an invitation pending?"""
        from app.models.accounts import Invitation
        from app.people import has_password

        if has_password(self.user):
            return "Signed up"
        session = object_session(self)
        pending = session.scalar(
            sa.select(Invitation)
            .where(
                Invitation.organization_id == self.organization_id,
                Invitation.user_id == self.user_id,
                Invitation.accepted_at.is_(None),
            )
            .order_by(Invitation.sent_at.desc())
            .limit(1)
        )
        if pending is None:
            return "No password yet (send an invitation)"
        school = self.organization

        def when(moment: datetime) -> str:  # in the school's zone, not UTC's date
            return format_moment(moment, school.time_zone, school.time_format)

        if pending.is_expired():
            return f"Invitation expired (sent {when(pending.sent_at)}): send it again"
        return (
            f"Invitation pending (sent {when(pending.sent_at)}, "
            f"valid until {when(pending.expires_at)})"
        )

    def __str__(self) -> str:
        return self.full_name
