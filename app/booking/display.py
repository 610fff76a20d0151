"""Slots and bookings as people read them: local times, a week of columns, place names.

Times are shown in the school's zone, and also in the student's zone when it differs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.models import LocationMode
from app.scheduling import Slot
from app.scheduling.time_format import format_moment


def zone_label(zone: str, at: datetime) -> str:
    return f"{zone.replace('_', ' ')} ({at.astimezone(ZoneInfo(zone)).tzname()})"


def place(mode: str, location_id: int | None, location_names: dict[int, str]) -> str:
    if mode == LocationMode.IN_PERSON.value and location_id is not None:
        return location_names.get(location_id, "In person")
    return LocationMode(mode).label


@dataclass
class SlotChoice:
    """One button on the week view."""

    start: datetime
    school_time: str
    student_time: str | None
    mode: str
    location_id: int | None
    place: str
    instructor_ids: tuple[int, ...]
    seats_left: int

    @property
    def start_iso(self) -> str:
        return self.start.isoformat()


@dataclass
class DayColumn:
    day: date
    slots: list[SlotChoice] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.day.strftime("%a %d %b")


def _clock(moment: datetime, zone: str, time_format: str) -> str:
    return format_moment(moment, zone, time_format, "", zone_name=False)


def week_columns(
    slots: list[Slot],
    week_start: date,
    school_zone: str,
    student_zone: str | None,
    location_names: dict[int, str],
    time_format: str,
) -> list[DayColumn]:
    """Seven columns (Monday first, school-local days) of bookable times, written the
    school's way (``time_format``)."""
    school = ZoneInfo(school_zone)
    by_day: dict[date, list[SlotChoice]] = defaultdict(list)
    for slot in slots:
        local = slot.start.astimezone(school)
        by_day[local.date()].append(
            SlotChoice(
                start=slot.start,
                school_time=_clock(slot.start, school_zone, time_format),
                student_time=_clock(slot.start, student_zone, time_format)
                if student_zone
                else None,
                mode=str(slot.location_mode.value),
                location_id=slot.location_id,
                place=place(slot.location_mode.value, slot.location_id, location_names),
                instructor_ids=slot.instructor_ids,
                seats_left=slot.seats_left,
            )
        )
    days = [week_start + timedelta(days=n) for n in range(7)]
    return [DayColumn(day, by_day.get(day, [])) for day in days]


def slot_json(
    slot: Slot,
    school_zone: str,
    student_zone: str | None,
    location_names: dict[int, str],
    instructor_names: dict[int, str],
) -> dict:
    seats = dict(slot.seats_left_by_instructor)
    data = {
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "start_local": slot.start.astimezone(ZoneInfo(school_zone)).isoformat(),
        "location_mode": slot.location_mode.value,
        "location_id": slot.location_id,
        "place": place(slot.location_mode.value, slot.location_id, location_names),
        "seats_left": slot.seats_left,
        "instructors": [
            {"id": i, "name": instructor_names.get(i, ""), "seats_left": seats.get(i, 0)}
            for i in slot.instructor_ids
        ],
    }
    if student_zone:
        data["start_student"] = slot.start.astimezone(ZoneInfo(student_zone)).isoformat()
    return data
