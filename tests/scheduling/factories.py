"""Small builders so each test states only what matters to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.scheduling import (
    AppointmentTypeSpec,
    BusyBooking,
    LocationMode,
    SchoolCalendar,
    Slot,
    SlotQuery,
    WorkingWindow,
    available_slots,
)

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
IN_PERSON, ONLINE, AT_HOME = LocationMode.IN_PERSON, LocationMode.ONLINE, LocationMode.AT_HOME
STUDIO = 1
ANNEX = 2

# A Monday well before any DST change in either zone, with "now" a week earlier.
MONDAY = date(2026, 6, 1)
NOW = datetime(2026, 5, 25, 12, tzinfo=UTC)


def check(got: object, expected: object) -> None:
    """Assert equality and say both sides in the failure, expected first."""
    assert got == expected, f"\nexpected {expected!r}\n     got {got!r}"


def lesson_type(**overrides: object) -> AppointmentTypeSpec:
    values: dict[str, object] = {
        "id": 1,
        "duration_minutes": 60,
        "location_modes": frozenset({IN_PERSON, ONLINE}),
        "location_ids": frozenset({STUDIO}),
    }
    values.update(overrides)
    return AppointmentTypeSpec(**values)  # type: ignore[arg-type]


def hours(
    instructor_id: int = 7,
    weekday: int = 0,
    start: str = "09:00",
    end: str = "12:00",
    **overrides: object,
) -> WorkingWindow:
    return WorkingWindow(instructor_id, weekday, hhmm(start), hhmm(end), **overrides)  # type: ignore[arg-type]


def school(
    *windows: WorkingWindow,
    tz: str = NEW_YORK,
    qualified: dict[int, set[int]] | None = None,
    **parts: object,
) -> SchoolCalendar:
    if qualified is None:
        qualified = {1: {w.instructor_id for w in windows}}
    return SchoolCalendar(tz, windows=windows, qualifications=qualified, **parts)  # type: ignore[arg-type]


def hhmm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def at(day: date, clock: str, tz: str = NEW_YORK) -> datetime:
    """An aware moment at a local wall time (first occurrence)."""
    return datetime.combine(day, hhmm(clock), tzinfo=ZoneInfo(tz))


def booking(
    day: date,
    start: str,
    end: str,
    instructor_id: int = 7,
    tz: str = NEW_YORK,
    **overrides: object,
) -> BusyBooking:
    values: dict[str, object] = {"appointment_type_id": 99}
    values.update(overrides)
    return BusyBooking(
        instructor_id, start=at(day, start, tz).astimezone(UTC), end=at(day, end, tz), **values
    )  # type: ignore[arg-type]


def slots_for(
    cal: SchoolCalendar,
    spec: AppointmentTypeSpec,
    day: date = MONDAY,
    days: int = 1,
    now: datetime = NOW,
    **query: object,
) -> list[Slot]:
    q = SlotQuery(spec, day, day + timedelta(days=days), **query)  # type: ignore[arg-type]
    return available_slots(q, cal, now)


def local_starts(slots: list[Slot], tz: str = NEW_YORK) -> list[str]:
    """Slot starts as local "HH:MM" — how a person reads the booking page."""
    zone = ZoneInfo(tz)
    return [s.start.astimezone(zone).strftime("%H:%M") for s in slots]


def grid(first: str, last: str, step: int = 15) -> list[str]:
    """["09:00", "09:15", …, last] — the expected starts of a plain day."""
    out, t = [], datetime.combine(MONDAY, hhmm(first))
    while t <= datetime.combine(MONDAY, hhmm(last)):
        out.append(t.strftime("%H:%M"))
        t += timedelta(minutes=step)
    return out
