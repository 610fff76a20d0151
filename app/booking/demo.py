"""Demo availability and bookings, so ``make run`` shows real free times and a few lessons.

Idempotent like the rest of the demo: weekly hours are found by (instructor, weekday, start);
closures by name; time off and bookings are added only while the school has none, and
bookings go through the booking service (same checks as a student), in the coming weeks.
"""

from __future__ import annotations

import logging
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app import clock
from app.booking import service
from app.booking.service import BookingProblem, LessonChoice
from app.extensions import db
from app.models import (
    AppointmentType,
    Booking,
    HoursOverride,
    Location,
    Membership,
    Organization,
    SchoolClosure,
    TimeOff,
    WorkingHours,
)

log = logging.getLogger(__name__)
ALL = ["in_person", "online", "at_home"]

# subdomain -> instructor index -> [(weekdays, start, end, location index or None, modes)]
WEEKLY_HOURS = {
    "musicschool": {
        0: [
            ((0, 1, 2, 3, 4), "14:00", "20:00", 0, ["in_person", "online"]),
            ((5,), "10:00", "14:00", None, ["online"]),
        ],
        1: [
            ((1, 3), "10:00", "18:00", 1, ["in_person", "online"]),
            ((2,), "12:00", "18:00", None, ["online"]),
        ],
        2: [((0, 2, 4), "09:00", "13:00", None, ALL)],
    },
    "yogastudio": {
        0: [
            ((0, 1, 2, 3, 4), "07:00", "09:00", 0, ["in_person"]),
            ((0, 1, 2, 3, 4), "17:00", "21:00", None, ["at_home", "in_person"]),
        ],
        1: [((0, 1, 2, 3, 4, 5), "10:00", "16:00", None, ["in_person", "online"])],
        2: [((1, 2, 3, 4, 5), "09:00", "17:00", None, ["at_home", "online"])],
    },
}

# (type name, student index, instructor index, days ahead, mode, location index, weekly count)
DEMO_BOOKINGS = {
    "musicschool": [
        ("Piano lesson (45 min)", 0, 0, 2, "in_person", 0, 4),
        ("Piano lesson (30 min)", 1, 1, 3, "online", None, None),
        ("Piano lesson (60 min)", 2, 2, 4, "in_person", 1, None),
        ("Music theory (online)", 3, 2, 6, "online", None, None),
        ("Piano lesson (30 min)", 4, 0, 9, "in_person", 0, None),
    ],
    "yogastudio": [
        ("Drop-in yoga class", 0, 0, 2, "in_person", 0, None),
        ("Drop-in yoga class", 1, 0, 2, "in_person", 0, None),
        ("Drop-in yoga class", 2, 0, 2, "in_person", 0, None),
        ("Online flow (private)", 3, 1, 3, "online", None, 3),
        ("Private session at home", 4, 2, 5, "at_home", None, None),
    ],
}


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def load_demo_schedule(
    organization: Organization,
    instructors: list[Membership],
    students: list[Membership],
    types: dict[str, AppointmentType],
    locations: list[Location],
) -> None:
    """Hours, a closure, some time off and some bookings for one demo school (in its tenant)."""
    for index, windows in WEEKLY_HOURS.get(organization.subdomain, {}).items():
        for weekdays, start, end, location_index, modes in windows:
            for weekday in weekdays:
                exists = db.session.scalar(
                    sa.select(WorkingHours.id).where(
                        WorkingHours.organization_id == organization.id,
                        WorkingHours.instructor_id == instructors[index].id,
                        WorkingHours.weekday == weekday,
                        WorkingHours.start_time == _hhmm(start),
                    )
                )
                if exists is None:
                    db.session.add(
                        WorkingHours(
                            organization_id=organization.id,
                            instructor_id=instructors[index].id,
                            weekday=weekday,
                            start_time=_hhmm(start),
                            end_time=_hhmm(end),
                            location_id=None
                            if location_index is None
                            else locations[location_index].id,
                            location_modes=modes,
                        )
                    )
    for instructor in instructors:  # their own online rooms (a school sets real ones)
        if instructor.meeting_link is None:
            first_name = instructor.user.first_name.lower()
            instructor.meeting_link = (
                f"https://meet.example.com/{organization.subdomain}-{first_name}"
            )
    today = clock.now().astimezone(ZoneInfo(organization.time_zone)).date()
    _closure(organization, "New Year's Day", date(today.year + 1, 1, 1))
    if not db.session.scalar(
        sa.select(TimeOff.id).where(TimeOff.organization_id == organization.id).limit(1)
    ):
        away = today + timedelta(days=17)
        db.session.add(
            TimeOff(
                organization_id=organization.id,
                instructor_id=instructors[1].id,
                first_day=away,
                last_day=away + timedelta(days=2),
                reason="Concert tour"
                if organization.subdomain == "musicschool"
                else "Training course",
            )
        )
    if not db.session.scalar(
        sa.select(HoursOverride.id).where(HoursOverride.organization_id == organization.id).limit(1)
    ):
        # A shorter day for the first instructor in ten days' time.
        db.session.add(
            HoursOverride(
                organization_id=organization.id,
                instructor_id=instructors[0].id,
                day=today + timedelta(days=10),
                start_time=time(12, 0),
                end_time=time(15, 0),
                location_modes=["online"],
            )
        )
    db.session.commit()
    if not db.session.scalar(
        sa.select(Booking.id).where(Booking.organization_id == organization.id).limit(1)
    ):
        _book_demo_lessons(organization, instructors, students, types, locations, today)


def _closure(organization: Organization, name: str, day: date) -> None:
    if not db.session.scalar(
        sa.select(SchoolClosure.id).where(
            SchoolClosure.organization_id == organization.id, SchoolClosure.name == name
        )
    ):
        db.session.add(
            SchoolClosure(organization_id=organization.id, name=name, first_day=day, last_day=day)
        )


def _book_demo_lessons(organization, instructors, students, types, locations, today) -> None:
    """Each demo booking takes the first free time of its instructor on its day."""
    for (
        type_name,
        student,
        instructor,
        days_ahead,
        mode,
        location_index,
        weeks,
    ) in DEMO_BOOKINGS.get(organization.subdomain, []):
        appointment_type = types[type_name]
        location_id = None if location_index is None else locations[location_index].id
        day = today + timedelta(days=days_ahead)
        slots = service.free_slots(
            appointment_type,
            day,
            day + timedelta(days=7),
            instructor_id=instructors[instructor].id,
            location_mode=mode,
            location_id=location_id,
        )
        if not slots:
            continue
        choice = LessonChoice(
            appointment_type.id, slots[0].start, mode, instructors[instructor].id, location_id
        )
        address = "221B Baker Street, London NW1 6XE" if mode == "at_home" else None
        try:
            if weeks:
                occurrences = service.preview_series(choice, student=students[student], weeks=weeks)
                service.book_series(
                    choice,
                    student=students[student],
                    actor=students[student],
                    weeks=weeks,
                    notify=False,
                    address=address,
                    accepted_starts=[o.start for o in occurrences if o.bookable],
                )
            else:
                service.book_lesson(
                    choice,
                    student=students[student],
                    actor=students[student],
                    address=address,
                    notify=False,
                )
        except BookingProblem as problem:  # a demo lesson that does not fit is simply skipped
            log.info("Demo booking skipped (%s): %s", type_name, problem.message)
