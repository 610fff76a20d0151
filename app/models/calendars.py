"""Calendar feeds (secret iCal subscription URLs) and busy times read from instructors' own
calendars.

- ``CalendarFeed``: one secret subscription URL per instructor, student, location or school.
  The token itself is never stored: the URL's token is an HMAC of ``secret`` with the app's
  ``SECRET_KEY`` (so the page can show it again), and ``token_hash`` (its SHA-256) finds the
  row. Rotating draws a new ``secret``: the old URL stops working at once.
- ``ExternalCalendar``: the secret iCal address of an instructor's personal calendar, and
  what the last fetch said (ETag / Last-Modified for the next conditional GET, when it was
  last read, the last error).
- ``BusyTime``: one busy interval read from that calendar; the scheduling core treats it
  like time off. Replaced as a whole on each successful read, kept when a read fails.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from app import clock
from app.models.base import TenantOwned, tenant_fk, tenant_unique_id
from app.models.catalog import Location
from app.models.organization import Membership


class FeedKind(enum.StrEnum):
    INSTRUCTOR = "instructor"
    STUDENT = "student"
    LOCATION = "location"
    SCHOOL = "school"


class CalendarFeed(TenantOwned, Model):
    """A secret iCal subscription URL for one instructor, student, location or the school."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        tenant_unique_id("calendar_feeds"),
        tenant_fk(["membership_id"], "memberships", ondelete="CASCADE"),
        tenant_fk(["location_id"], "locations", ondelete="CASCADE"),
        sa.CheckConstraint(
            "(kind IN ('instructor', 'student') AND membership_id IS NOT NULL "
            "AND location_id IS NULL) OR "
            "(kind = 'location' AND location_id IS NOT NULL AND membership_id IS NULL) OR "
            "(kind = 'school' AND membership_id IS NULL AND location_id IS NULL)",
            name="calendar_feeds_subject_matches_kind",
        ),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feeds_token_hash"),
        sa.Index(
            "uq_calendar_feeds_subject",
            "organization_id",
            "kind",
            sa.text("coalesce(membership_id, 0)"),
            sa.text("coalesce(location_id, 0)"),
            unique=True,
        ),
    )

    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    membership_id: Mapped[int | None] = mapped_column()
    location_id: Mapped[int | None] = mapped_column()
    secret: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    rotated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )

    membership: Mapped[Membership | None] = relationship(
        Membership,
        primaryjoin=lambda: Membership.id == foreign(CalendarFeed.membership_id),
        viewonly=True,
    )
    location: Mapped[Location | None] = relationship(
        Location,
        primaryjoin=lambda: Location.id == foreign(CalendarFeed.location_id),
        viewonly=True,
    )


class ExternalCalendar(TenantOwned, Model):
    """An instructor's personal calendar (a secret iCal URL) that makes them busy."""

    __tablename__ = "external_calendars"
    __table_args__ = (
        tenant_unique_id("external_calendars"),
        tenant_fk(["instructor_id"], "memberships", ondelete="CASCADE"),
        sa.UniqueConstraint("organization_id", "instructor_id", name="uq_external_calendars_one"),
    )

    instructor_id: Mapped[int] = mapped_column(nullable=False)
    url: Mapped[str] = mapped_column(sa.Text, nullable=False)
    etag: Mapped[str | None] = mapped_column(sa.String(500))
    last_modified: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=clock.now, server_default=sa.func.now()
    )
    last_checked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_read_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    busy_count: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")

    instructor: Mapped[Membership] = relationship(
        Membership,
        primaryjoin=lambda: Membership.id == foreign(ExternalCalendar.instructor_id),
        viewonly=True,
    )


class BusyTime(TenantOwned, Model):
    """A busy stretch from an instructor's own calendar (UTC), treated like time off."""

    __tablename__ = "busy_times"
    __table_args__ = (
        tenant_unique_id("busy_times"),
        tenant_fk(["instructor_id"], "memberships", ondelete="CASCADE"),
        tenant_fk(["calendar_id"], "external_calendars", ondelete="CASCADE"),
        sa.CheckConstraint("ends_at > starts_at", name="busy_times_end_after_start"),
        sa.Index("ix_busy_times_instructor", "organization_id", "instructor_id", "ends_at"),
    )

    instructor_id: Mapped[int] = mapped_column(nullable=False)
    calendar_id: Mapped[int] = mapped_column(nullable=False)
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
