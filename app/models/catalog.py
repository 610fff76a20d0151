"""What a school offers: locations, appointment types and who may teach them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from app.models.base import TenantOwned, tenant_fk, tenant_unique_id
from app.models.organization import Membership
from app.scheduling import LocationMode

LOCATION_MODE_VALUES = [m.value for m in LocationMode]


def cents_to_units(cents: int | None) -> Decimal | None:
    """Money is stored as integer cents and read and typed in units: 5500 is 55.00."""
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


def units_to_cents(units: Decimal | int | str | None) -> int | None:
    if units is None or units == "":
        return None
    return int((Decimal(units) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Location(TenantOwned, Model):
    __tablename__ = "locations"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "name", name="uq_locations_org_name"),
        tenant_unique_id("locations"),
    )

    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    address: Mapped[str | None] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(nullable=False, default=True, server_default=sa.true())

    def __str__(self) -> str:
        return self.name


appointment_type_locations = sa.Table(
    "appointment_type_locations",
    Model.metadata,
    sa.Column("organization_id", sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("appointment_type_id", sa.Integer, primary_key=True),
    sa.Column("location_id", sa.Integer, primary_key=True),
    tenant_fk(["appointment_type_id"], "appointment_types", ondelete="CASCADE"),
    tenant_fk(["location_id"], "locations", ondelete="CASCADE"),
)


class AppointmentType(TenantOwned, Model):
    """A reusable service template: 'Piano lesson, 45 min', 'Drop-in yoga, 12 places'."""

    __tablename__ = "appointment_types"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "name", name="uq_appointment_types_org_name"),
        tenant_unique_id("appointment_types"),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 480", name="duration_range"),
        sa.CheckConstraint("price_cents >= 0", name="price_not_negative"),
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint(
            "cardinality(location_modes) >= 1 AND location_modes <@ "
            "ARRAY['in_person','online','at_home']::varchar[]",
            name="location_modes_valid",
        ),
        sa.CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers_not_negative"
        ),
        sa.CheckConstraint(
            "min_notice_hours >= 0 AND max_advance_days >= 1 AND cancellation_cutoff_hours >= 0",
            name="booking_windows_valid",
        ),
        sa.CheckConstraint("slot_step_minutes BETWEEN 5 AND 240", name="slot_step_range"),
    )

    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    duration_minutes: Mapped[int] = mapped_column(nullable=False, default=60)
    price_cents: Mapped[int] = mapped_column(nullable=False, default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="USD")
    capacity: Mapped[int] = mapped_column(nullable=False, default=1)
    location_modes: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(16)), nullable=False, default=lambda: ["in_person"]
    )
    buffer_before_minutes: Mapped[int] = mapped_column(nullable=False, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(nullable=False, default=0)
    min_notice_hours: Mapped[int] = mapped_column(nullable=False, default=12)
    max_advance_days: Mapped[int] = mapped_column(nullable=False, default=60)
    cancellation_cutoff_hours: Mapped[int] = mapped_column(nullable=False, default=24)
    slot_step_minutes: Mapped[int] = mapped_column(nullable=False, default=15)
    color: Mapped[str] = mapped_column(sa.String(7), nullable=False, default="#3b82f6")
    # Online lessons of this type meet here (a class's fixed room); else the instructor's link.
    meeting_link: Mapped[str | None] = mapped_column(sa.String(500))
    active: Mapped[bool] = mapped_column(nullable=False, default=True, server_default=sa.true())
    # Lesson reminders for this type ("48, 2" hours before, "none"); empty: the school's.
    reminder_hours: Mapped[str | None] = mapped_column(sa.String(64))

    locations: Mapped[list[Location]] = relationship(
        Location,
        secondary=appointment_type_locations,
        primaryjoin=lambda: sa.and_(
            AppointmentType.id == foreign(appointment_type_locations.c.appointment_type_id),
            AppointmentType.organization_id
            == foreign(appointment_type_locations.c.organization_id),
        ),
        secondaryjoin=lambda: Location.id == foreign(appointment_type_locations.c.location_id),
        order_by=Location.name,
    )

    @property
    def is_group_class(self) -> bool:
        return self.capacity > 1

    @property
    def price(self) -> Decimal:
        return cents_to_units(self.price_cents or 0)

    @price.setter
    def price(self, units: Decimal | None) -> None:
        self.price_cents = units_to_cents(units) or 0

    @property
    def price_display(self) -> str:
        return f"{self.price_cents / 100:.2f} {self.currency}"

    @property
    def modes_display(self) -> str:
        return ", ".join(LocationMode(m).label for m in self.location_modes)

    def __str__(self) -> str:
        return self.name


class InstructorQualification(TenantOwned, Model):
    """Who may teach what, with an optional price of their own."""

    __tablename__ = "instructor_qualifications"
    __table_args__ = (
        sa.UniqueConstraint(
            "organization_id",
            "instructor_id",
            "appointment_type_id",
            name="uq_qualifications_instructor_type",
        ),
        tenant_unique_id("instructor_qualifications"),
        tenant_fk(["instructor_id"], "memberships", ondelete="CASCADE"),
        tenant_fk(["appointment_type_id"], "appointment_types", ondelete="CASCADE"),
        sa.CheckConstraint(
            "price_override_cents IS NULL OR price_override_cents >= 0",
            name="price_override_not_negative",
        ),
    )

    instructor_id: Mapped[int] = mapped_column(nullable=False)
    appointment_type_id: Mapped[int] = mapped_column(nullable=False)
    price_override_cents: Mapped[int | None] = mapped_column()

    instructor: Mapped[Membership] = relationship(
        Membership,
        primaryjoin=lambda: Membership.id == foreign(InstructorQualification.instructor_id),
    )
    appointment_type: Mapped[AppointmentType] = relationship(
        AppointmentType,
        primaryjoin=lambda: (
            AppointmentType.id == foreign(InstructorQualification.appointment_type_id)
        ),
    )

    @property
    def price_override(self) -> Decimal | None:
        return cents_to_units(self.price_override_cents)

    @price_override.setter
    def price_override(self, units: Decimal | None) -> None:
        self.price_override_cents = units_to_cents(units)

    @property
    def price_override_display(self) -> str:
        if self.price_override_cents is None:
            return f"Same as the type ({self.appointment_type.price_display})"
        return f"{self.price_override} {self.appointment_type.currency}"

    def __str__(self) -> str:
        return f"{self.instructor} – {self.appointment_type}"
