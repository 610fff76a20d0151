"""CourseCove scheduling core: which lesson times can be booked, and why not.

Pure Python (stdlib, zoneinfo, dateutil): frozen values in, results out. No Flask, no
database; the web layer loads rows, builds a SchoolCalendar and asks.
"""

from .availability import MAX_QUERY_DAYS, available_slots, check_booking, is_bookable
from .model import (
    ALL_MODES,
    AppointmentTypeSpec,
    BusyBooking,
    DateOverride,
    LocationMode,
    OverrideWindow,
    Refusal,
    Slot,
    SlotQuery,
    TimeOff,
    WorkingWindow,
)
from .recurrence import MAX_SERIES_LESSONS, weekly_occurrences
from .school import SchoolCalendar
from .validation import validate_weekly_windows

__all__ = [
    "ALL_MODES",
    "MAX_QUERY_DAYS",
    "MAX_SERIES_LESSONS",
    "AppointmentTypeSpec",
    "BusyBooking",
    "DateOverride",
    "LocationMode",
    "OverrideWindow",
    "Refusal",
    "SchoolCalendar",
    "Slot",
    "SlotQuery",
    "TimeOff",
    "WorkingWindow",
    "available_slots",
    "check_booking",
    "is_bookable",
    "validate_weekly_windows",
    "weekly_occurrences",
]
