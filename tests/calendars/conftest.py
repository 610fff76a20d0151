"""Fixtures for calendar tests: the booking tests' demo schools, clean-up and free slots, and
``book`` to write bookings through the real booking service."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import db
from app.models import Membership
from tests.booking.conftest import (  # noqa: F401 (fixtures shared with the booking tests)
    School,
    ensemble,
    free_slots,
    in_school,
    make_students,
    music,
    owner,
    rows_written,
    schools,
    yoga,
)

PIANO_30 = "Piano lesson (30 min)"
FAR = 28  # days ahead: past the demo's own lessons, within every type's advance limit


@pytest.fixture
def book(app: Flask, free_slots):  # noqa: F811
    """``book(school, type, student=…, instructor=…, slot_index=…)`` → (attendee id, booking
    id), booked through ``app.booking.service`` at a free slot the real core offers."""
    from app.booking import service

    def make(
        school: School,
        type_name: str = PIANO_30,
        *,
        student: str = "Ada",
        instructor: str = "Clara",
        days_ahead: int = FAR,
        slot_index: int = 0,
        mode: str = "online",
        notes: str | None = None,
    ) -> tuple[int, int]:
        slot = free_slots(
            school, type_name, days_ahead=days_ahead, instructor=instructor, mode=mode
        )[slot_index]
        with in_school(app, school):
            person = db.session.get(Membership, school.people[student])
            attendee = service.book_lesson(
                service.LessonChoice(
                    school.types[type_name],
                    slot.start,
                    mode,
                    school.people[instructor],
                    slot.location_id,
                ),
                student=person,
                actor=person,
                notes=notes,
                notify=False,
            )
            return attendee.id, attendee.booking_id

    return make
