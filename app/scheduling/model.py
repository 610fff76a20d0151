"""The school's scheduling vocabulary: plain frozen values, no database, no Flask.

Times that are *moments* (bookings, time off, slots, ``now``) are aware datetimes and are
compared in UTC. Times that are *wall-clock* values in the school's time zone (weekly hours,
overrides, the dates of a query) are naive and named ``..._local``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple


class LocationMode(StrEnum):
    """Where a lesson happens. Declaration order is the order slots are listed in."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    AT_HOME = "at_home"  # at the student's place

    @property
    def label(self) -> str:
        """How people read it (forms, pages, e-mails)."""
        return _MODE_LABELS[self]


_MODE_LABELS = {
    LocationMode.IN_PERSON: "In person",
    LocationMode.ONLINE: "Online",
    LocationMode.AT_HOME: "At the student's location",
}

ALL_MODES: frozenset[LocationMode] = frozenset(LocationMode)


@lru_cache(maxsize=64)
def as_modes(modes: frozenset[str]) -> frozenset[LocationMode]:
    """Mode names as LocationModes (ValueError for an unknown one).

    Cached: a school's hours repeat a handful of mode sets, and a calendar builds a window
    per row. A str and its LocationMode hash and compare alike, so either spelling finds
    the converted set.
    """
    return frozenset(LocationMode(m) for m in modes)


class Refusal(StrEnum):
    """Why a requested booking cannot be made. The value is a sentence for people."""

    MODE_NOT_OFFERED = "This lesson type is not offered in that way (in person / online / at home)."
    LOCATION_REQUIRED = "An in-person lesson needs a location."
    LOCATION_NOT_OFFERED = "This lesson type is not offered at that location."
    NOT_QUALIFIED = "The instructor does not teach this lesson type."
    TOO_SHORT_NOTICE = "That is too short notice for this lesson type."
    TOO_FAR_AHEAD = "That is too far ahead for this lesson type."
    OUTSIDE_HOURS = "That is outside the instructor's hours."
    NOT_OFFERED_THEN = "The instructor does not teach that way or at that location at that time."
    INSTRUCTOR_AWAY = "The instructor is away at that time."
    SCHOOL_CLOSED = "The school is closed at that time."
    TIME_TAKEN = "That time is already taken."
    CLASS_FULL = "This class is full."
    NOT_A_START_TIME = "That is not one of the offered start times."


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value!r}")


def _set(obj: object, name: str, value: object) -> None:
    """Normalise a field of a frozen dataclass inside ``__post_init__``."""
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class AppointmentTypeSpec:
    """A kind of lesson the school offers, e.g. "Piano 45 min" or "Vinyasa group class"."""

    id: int
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    capacity: int = 1  # 1 = private lesson, >1 = group class
    min_notice_hours: float = 0
    max_advance_days: int | None = None  # None = no limit
    slot_step_minutes: int = 15
    location_modes: frozenset[LocationMode] = frozenset({LocationMode.IN_PERSON})
    location_ids: frozenset[int] = frozenset()  # where in-person lessons of this type happen

    def __post_init__(self) -> None:
        _set(self, "location_modes", frozenset(LocationMode(m) for m in self.location_modes))
        _set(self, "location_ids", frozenset(self.location_ids))
        if self.duration_minutes <= 0:
            raise ValueError(f"duration_minutes must be positive, got {self.duration_minutes}")
        if self.buffer_before_minutes < 0 or self.buffer_after_minutes < 0:
            raise ValueError("buffers cannot be negative")
        if self.capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {self.capacity}")
        if self.slot_step_minutes <= 0:
            raise ValueError(f"slot_step_minutes must be positive, got {self.slot_step_minutes}")
        if self.min_notice_hours < 0:
            raise ValueError("min_notice_hours cannot be negative")
        if self.max_advance_days is not None and self.max_advance_days < 0:
            raise ValueError("max_advance_days cannot be negative")

    @property
    def is_group(self) -> bool:
        return self.capacity > 1


@dataclass(frozen=True)
class WorkingWindow:
    """One stretch of an instructor's weekly hours, in the school's local wall-clock time."""

    instructor_id: int
    weekday: int  # 0 = Monday … 6 = Sunday
    start_local: time
    end_local: time
    location_id: int | None = None  # None = not tied to one place
    modes: frozenset[LocationMode] = ALL_MODES  # "Thursdays online only" = {ONLINE}
    effective_from: date | None = None
    effective_until: date | None = None  # inclusive

    def __post_init__(self) -> None:
        _set(self, "modes", as_modes(frozenset(self.modes)))

    def applies_on(self, day_local: date) -> bool:
        if day_local.weekday() != self.weekday:
            return False
        if self.effective_from is not None and day_local < self.effective_from:
            return False
        return self.effective_until is None or day_local <= self.effective_until


class OverrideWindow(NamedTuple):
    """A stretch of hours on one specific date. A plain (start, end[, location, modes]) works."""

    start_local: time
    end_local: time
    location_id: int | None = None
    modes: frozenset[LocationMode] = ALL_MODES


@dataclass(frozen=True)
class DateOverride:
    """Replaces an instructor's weekly hours on one date. No windows = a day off."""

    instructor_id: int
    date_local: date
    windows: tuple[OverrideWindow, ...] = ()

    def __post_init__(self) -> None:
        windows = tuple(OverrideWindow(*w) for w in self.windows)
        windows = tuple(w._replace(modes=as_modes(frozenset(w.modes))) for w in windows)
        _set(self, "windows", windows)


@dataclass(frozen=True)
class TimeOff:
    """A range when an instructor (or, with instructor_id None, the whole school) is away."""

    instructor_id: int | None
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(self.start, "TimeOff.start")
        _require_aware(self.end, "TimeOff.end")
        if self.end <= self.start:
            raise ValueError(f"time off must end after it starts: {self.start} – {self.end}")

    @property
    def is_closure(self) -> bool:
        return self.instructor_id is None


class BusyBooking(NamedTuple):
    """An existing lesson or group session that keeps its instructor busy.

    start and end are aware datetimes of the lesson itself; buffers come from its type.
    A group session is one row with its seats counted; several rows for the same session
    (same instructor, type, start, end, mode and location) are added up.

    A NamedTuple rather than a dataclass: a school loads thousands per request, this is ~5×
    cheaper to build, and ``BusyBooking._make(row)`` takes a SQL row directly. Its values are
    checked when a SchoolCalendar indexes it.
    """

    instructor_id: int
    appointment_type_id: int
    start: datetime
    end: datetime
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    seats_taken: int = 1
    capacity: int = 1
    location_mode: LocationMode | None = None
    location_id: int | None = None
    id: int | None = None  # lets a reschedule ignore the booking being moved


@dataclass(frozen=True)
class SlotQuery:
    """ "Which times can be booked for this type between these local dates?"

    date_from_local is inclusive, date_to_local exclusive, both in the school's time zone.
    A location_id on its own means "in person at that location".
    """

    appointment_type: AppointmentTypeSpec
    date_from_local: date
    date_to_local: date
    instructor_id: int | None = None
    location_mode: LocationMode | None = None
    location_id: int | None = None
    exclude_booking_ids: frozenset[int] = frozenset()  # e.g. the booking being rescheduled

    def __post_init__(self) -> None:
        if self.location_mode is not None:
            _set(self, "location_mode", LocationMode(self.location_mode))
        _set(self, "exclude_booking_ids", frozenset(self.exclude_booking_ids))
        if self.date_to_local < self.date_from_local:
            raise ValueError(
                f"date_to_local ({self.date_to_local}) is before date_from_local "
                f"({self.date_from_local})"
            )
        if self.location_id is not None and self.location_mode not in (
            None,
            LocationMode.IN_PERSON,
        ):
            raise ValueError("a location only applies to in-person lessons")

    @property
    def wanted_mode(self) -> LocationMode | None:
        if self.location_id is not None:
            return LocationMode.IN_PERSON
        return self.location_mode


class Slot(NamedTuple):
    """A bookable start time, in one mode (and, in person, at one location).

    instructor_ids lists everyone who can take it (sorted). For a group class an instructor may
    already run a session at that time: seats_left_by_instructor says how many seats each one
    has left (fill those first), seats_left is the best of them. For a private lesson all are 1.

    A NamedTuple like BusyBooking: a month of slots is thousands of them, and ``_asdict()``
    is handy for JSON.
    """

    start: datetime
    end: datetime
    location_mode: LocationMode
    location_id: int | None
    instructor_ids: tuple[int, ...]
    seats_left: int
    seats_left_by_instructor: tuple[tuple[int, int], ...]
