"""Group classes: one session, a seat per student, bookable until the seats are taken."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import Booking, BookingAttendee
from tests.booking.conftest import QUICK_PASSWORD, confirm_url

FAR = 28


def session_at(owner, type_id: int, start) -> Booking:
    owner.expire_all()
    return owner.scalar(
        sa.select(Booking).where(
            Booking.appointment_type_id == type_id,
            Booking.starts_at == start,
            Booking.status == "confirmed",
        )
    )


def seated(owner, session: Booking) -> int:
    return owner.scalar(
        sa.select(sa.func.count())
        .select_from(BookingAttendee)
        .where(BookingAttendee.booking_id == session.id, BookingAttendee.status == "confirmed")
    )


def test_group_class_fills_seat_by_seat_then_is_full(
    visit, music, free_slots, ensemble, owner, make_students
):
    slot = free_slots(music, ensemble, days_ahead=FAR, instructor="Clara")[0]
    students = [
        visit("musicschool").login(email, QUICK_PASSWORD) for email in make_students(music, 4)
    ]
    url = confirm_url(music, ensemble, slot)

    answers = [students[0].post(url).status_code, students[1].post(url).status_code]
    with_one_left = free_slots(music, ensemble, days_ahead=FAR, instructor="Clara")[0]
    answers += [students[2].post(url).status_code, students[3].post(url)]
    full = answers.pop()

    session = session_at(owner, music.types[ensemble], slot.start)
    assert answers == [302, 302, 302]
    assert (with_one_left.start, with_one_left.seats_left) == (slot.start, 1)
    assert full.status_code == 409 and b"just taken" in full.data
    assert (session.seats_taken, session.capacity, seated(owner, session)) == (3, 3, 3)
    assert free_slots(music, ensemble, days_ahead=FAR, instructor="Clara")[0].start != slot.start


def test_leaving_a_class_frees_one_seat_and_keeps_the_session(
    visit, music, free_slots, ensemble, owner, make_students
):
    slot = free_slots(music, ensemble, days_ahead=FAR, instructor="Clara")[0]
    first, second = [
        visit("musicschool").login(email, QUICK_PASSWORD) for email in make_students(music, 2)
    ]
    url = confirm_url(music, ensemble, slot)
    seat = first.post(url).headers["Location"].split("?")[0]
    second.post(url)

    first.post(f"{seat}/cancel")

    session = session_at(owner, music.types[ensemble], slot.start)
    assert session is not None and (session.seats_taken, seated(owner, session)) == (1, 1)
    offered = free_slots(music, ensemble, days_ahead=FAR, instructor="Clara")[0]
    assert (offered.start, offered.seats_left) == (slot.start, 2)
