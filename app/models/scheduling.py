"""When instructors teach: weekly hours, date overrides, time off and school closures.

Hours are wall-clock times in the school's time zone (``..._time`` columns, no zone), because
"Tuesdays 14:00–19:00" stays 14:00 when the clocks change. Time off and closures are whole
local days: the loader turns them into UTC ranges for the scheduling core.
"""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from app.models.base import TenantOwned, tenant_fk, tenant_unique_id
from app.models.catalog import LOCATION_MODE_VALUES, Location, LocationMode
from app.models.organization import Membership
from app.school_time import shown_range

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MODES_VALID = (
    "cardinality(location_modes) >= 1 AND location_modes <@ "
    "ARRAY['in_person','online','at_home']::varchar[]"
)
_ON_FIVE_MINUTE_GRID = "mod(extract(minute from {0})::int, 5) = 0 AND extract(second from {0}) = 0"


def _modes_display(modes: list[str]) -> str:
    return ", ".join(LocationMode(m).label for m in modes)


class _Window:
    """Columns shared by weekly hours and date overrides: a stretch of time, where, how."""

    start_time: Mapped[time] = mapped_column(sa.Time, nullable=False)
    end_time: Mapped[time] = mapped_column(sa.Time, nullable=False)
    location_id: Mapped[int | None] = mapped_column()
    location_modes: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(16)), nullable=False, default=lambda: list(LOCATION_MODE_VALUES)
    )

    @property
    def hours_display(self) -> str:
        return shown_range(self.start_time, self.end_time)

    @property
    def modes_display(self) -> str:
        return _modes_display(self.location_modes)


def _window_checks(table: str) -> tuple:
    return (
        sa.CheckConstraint("start_time < end_time", name=f"{table}_start_before_end"),
        sa.CheckConstraint(
            _ON_FIVE_MINUTE_GRID.format("start_time")
            + " AND "
            + _ON_FIVE_MINUTE_GRID.format("end_time"),
            name=f"{table}_five_minute_grid",
        ),
        sa.CheckConstraint(_MODES_VALID, name=f"{table}_modes_valid"),
    )


class WorkingHours(_Window, TenantOwned, Model):
    """One weekly window: "Tuesdays 14:00–19:00 at Main Street", "Thursdays online only"."""

    __tablename__ = "working_hours"
    __table_args__ = (
        tenant_unique_id("working_hours"),
        tenant_fk(["instructor_id"], "memberships", ondelete="CASCADE"),
        tenant_fk(["location_id"], "locations", ondelete="CASCADE"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="working_hours_weekday"),
        sa.CheckConstraint(
            "effective_from IS NULL OR effective_until IS NULL "
            "OR effective_from <= effective_until",
            name="working_hours_effective_range",
        ),
        sa.Index("ix_working_hours_instructor", "organization_id", "instructor_id"),
        *_window_checks("working_hours"),
    )

    instructor_id: Mapped[int] = mapped_column(nullable=False)
    weekday: Mapped[int] = mapped_column(nullable=False)
    effective_from: Mapped[date | None] = mapped_column(sa.Date)
    effective_until: Mapped[date | None] = mapped_column(sa.Date)

    instructor: Mapped[Membership] = relationship(
        Membership, primaryjoin=lambda: Membership.id == foreign(WorkingHours.instructor_id)
    )
    location: Mapped[Location | None] = relationship(
        Location, primaryjoin=lambda: Location.id == foreign(WorkingHours.location_id)
    )

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday]

    def __str__(self) -> str:
        return f"{self.instructor} – {self.weekday_name} {self.hours_display}"


class HoursOverride(_Window, TenantOwned, Model):
    """Different hours on one date; they replace the weekly hours of that day.

    Several rows on one date add up (a split day). A whole day off is ``TimeOff``.
    """

    __tablename__ = "hours_overrides"
    __table_args__ = (
        tenant_unique_id("hours_overrides"),
        tenant_fk(["instructor_id"], "memberships", ondelete="CASCADE"),
        tenant_fk(["location_id"], "locations", ondelete="CASCADE"),
        sa.Index("ix_hours_overrides_instructor_day", "organization_id", "instructor_id", "day"),
        *_window_checks("hours_overrides"),
    )

    instructor_id: Mapped[int] = mapped_column(nullable=False)
    day: Mapped[date] = mapped_column(sa.Date, nullable=False)

    instructor: Mapped[Membership] = relationship(
        Membership, primaryjoin=lambda: Membership.id == foreign(HoursOverride.instructor_id)
    )
    location: Mapped[Location | None] = relationship(
        Location, primaryjoin=lambda: Location.id == foreign(HoursOverride.location_id)
    )

    def __str__(self) -> str:
        return f"{self.instructor} – {self.day} {self.hours_display}"


class _DayRange:
    first_day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    last_day: Mapped[date] = mapped_column(sa.Date, nullable=False)  # inclusive

    @property
    def days_display(self) -> str:
        if self.first_day == self.last_day:
            return self.first_day.strftime("%a %d %b %Y")
        return f"{self.first_day:%a %d %b %Y} – {self.last_day:%a %d %b %Y}"


class TimeOff(_DayRange, TenantOwned, Model):
    """A day or range of days an instructor is away (holiday, sick day), inclusive."""

    __tablename__ = "time_off"
    __table_args__ = (
        tenant_unique_id("time_off"),
        tenant_fk(["instructor_id"], "memberships", ondelete="CASCADE"),
        sa.CheckConstraint("first_day <= last_day", name="time_off_day_order"),
        sa.Index("ix_time_off_instructor", "organization_id", "instructor_id", "last_day"),
    )

    instructor_id: Mapped[int] = mapped_column(nullable=False)
    reason: Mapped[str | None] = mapped_column(sa.String(200))

    instructor: Mapped[Membership] = relationship(
        Membership, primaryjoin=lambda: Membership.id == foreign(TimeOff.instructor_id)
    )

    def __str__(self) -> str:
        return f"{self.instructor} away {self.days_display}"


class SchoolClosure(_DayRange, TenantOwned, Model):
    """Days the whole school is closed (a bank holiday), for every instructor."""

    __tablename__ = "school_closures"
    __table_args__ = (
        tenant_unique_id("school_closures"),
        sa.CheckConstraint("first_day <= last_day", name="school_closures_day_order"),
        sa.Index("ix_school_closures_days", "organization_id", "last_day"),
    )

    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.days_display})"
