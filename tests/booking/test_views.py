"""The booking pages over HTTP: book, confirm, My bookings, cancel, reschedule, bad input."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Booking, BookingAttendee, BookingChange
from tests.booking.conftest import confirm_url
from tests.conftest import body

PIANO_30 = "Piano lesson (30 min)"
ADA = "ada@musicschool.demo"
FAR = 28  # days ahead: past the demo's own lessons, within every type's advance limit


def bookings_of(owner, student_id: int) -> list[tuple[BookingAttendee, Booking]]:
    owner.expire_all()
    return owner.execute(
        sa.select(BookingAttendee, Booking)
        .join(Booking, Booking.id == BookingAttendee.booking_id)
        .where(BookingAttendee.student_id == student_id)
        .order_by(Booking.starts_at)
    ).all()


def count_rows(owner) -> tuple[int, int, int]:
    owner.expire_all()
    return tuple(
        owner.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Booking, BookingAttendee, BookingChange)
    )


def book(visitor, school, type_name, slot, **data):
    return visitor.post(confirm_url(school, type_name, slot), data=data)


def test_anonymous_visitor_sees_types_and_free_times_but_signs_in_to_book(visit, music, free_slots):
    anonymous = visit("musicschool")
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]

    types = anonymous.get("/book/")
    choose = anonymous.get(f"/book/{music.types[PIANO_30]}")
    week = anonymous.get(
        f"/book/{music.types[PIANO_30]}/times?"
        + urlencode(
            {
                "instructor": music.people["Clara"],
                "mode": "online",
                "week": music.local(slot.start).date().isoformat(),
            }
        )
    )
    confirm = anonymous.get(confirm_url(music, PIANO_30, slot))

    assert types.status_code == 200 and b"Piano lesson (30 min)" in types.data
    assert b"Drop-in yoga" not in types.data, "another school's types are never listed"
    assert choose.status_code == 200 and b"Clara Schumann" in choose.data
    assert week.status_code == 200
    assert slot.start.isoformat().encode() in week.data.replace(b"%2B", b"+").replace(b"%3A", b":")
    assert confirm.status_code == 302 and "/login/" in confirm.headers["Location"]


def test_week_view_shows_times_in_school_and_student_zone(visit, music, free_slots):
    ada = visit("musicschool", ADA)
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    week = music.local(slot.start).date().isoformat()
    url = f"/book/{music.types[PIANO_30]}/times?instructor={music.people['Clara']}&mode=online"

    plain = ada.get(f"{url}&week={week}").data.decode()
    with_zone = ada.get(f"{url}&week={week}&tz=Asia/Tokyo").data.decode()

    school_time = music.clock(slot.start)
    tokyo_time = slot.start.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert school_time in plain and "your time" not in plain
    assert f"{music.clock(tokyo_time.time())} your time" in with_zone, "the school's 12-hour way"


def test_student_books_a_lesson_sees_confirmation_and_gets_mail(
    visit, music, free_slots, owner, mailbox, outbox
):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    ada = visit("musicschool", ADA)

    response = book(ada, music, PIANO_30, slot, notes="Chopin, please")
    page = ada.get(response.headers["Location"])

    assert response.status_code == 302, response.data[:500]
    assert b"You're booked" in page.data
    attendee, booking = [
        row for row in bookings_of(owner, music.people["Ada"]) if row[1].starts_at == slot.start
    ][0]
    assert (booking.instructor_id, booking.location_mode, booking.status) == (
        music.people["Clara"],
        "online",
        "confirmed",
    )
    assert (booking.seats_taken, attendee.notes, attendee.booked_by_id) == (
        1,
        "Chopin, please",
        music.people["Ada"],
    )
    history = owner.scalars(
        sa.select(BookingChange).where(BookingChange.attendee_id == attendee.id)
    ).all()
    assert [h.action for h in history] == ["booked"]
    assert mailbox.messages == [], "nothing is sent from inside the request"
    outbox.send()
    messages = mailbox.wait_for(2)
    to_ada = mailbox.to(ADA)
    assert len(messages) == 2 and len(to_ada) == 1, [m["To"] for m in messages]
    assert "Booking confirmed" in to_ada[0]["Subject"]
    assert music.clock(slot.start) in body(to_ada[0])
    assert mailbox.to("clara@musicschool.demo"), "the instructor hears of it too"


def test_my_bookings_lists_upcoming_and_cancelled(visit, music, free_slots):
    slots = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    ada = visit("musicschool", ADA)
    first = book(ada, music, PIANO_30, slots[0]).headers["Location"]
    book(ada, music, PIANO_30, slots[4])
    attendee_id = int(first.split("/bookings/")[1].split("?")[0])

    ada.post(f"/bookings/{attendee_id}/cancel", data={"reason": "Ill", "scope": "this"})
    page = ada.get("/bookings/").data.decode()

    upcoming, past = page.split("Past and cancelled")
    assert f'data-booking="{attendee_id}"' in past and "Cancelled" in past
    assert f'data-booking="{attendee_id}"' not in upcoming
    assert music.when(slots[4].start) in upcoming


def test_student_cancels_before_cutoff_and_the_time_is_free_again(
    visit, music, free_slots, owner, mailbox, outbox
):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    ada = visit("musicschool", ADA)
    detail_url = book(ada, music, PIANO_30, slot).headers["Location"].split("?")[0]
    outbox.send()
    mailbox.clear()

    response = ada.post(f"{detail_url}/cancel", data={"reason": "Holiday"})

    assert response.status_code == 302
    attendee, booking = [
        r for r in bookings_of(owner, music.people["Ada"]) if r[1].starts_at == slot.start
    ][0]
    assert (attendee.status, booking.status, booking.seats_taken) == ("cancelled", "cancelled", 0)
    assert attendee.cancellation_reason == "Holiday"
    assert any(
        s.start == slot.start and music.people["Clara"] in s.instructor_ids
        for s in free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    )
    outbox.send()
    assert "Booking cancelled" in mailbox.wait_for(1)[0]["Subject"]


def test_student_cannot_cancel_after_cutoff_but_admin_can(visit, music, free_slots, owner, clock):
    slot = free_slots(music, PIANO_30, days_ahead=3, instructor="Clara", mode="online")[0]
    ada = visit("musicschool", ADA)
    detail_url = book(ada, music, PIANO_30, slot).headers["Location"].split("?")[0]
    clock.set(slot.start - timedelta(hours=20))  # inside the 24-hour cancellation cutoff

    refused = ada.post(f"{detail_url}/cancel", data={})
    still = bookings_of(owner, music.people["Ada"])
    admin = visit("musicschool", "grace@musicschool.demo")
    allowed = admin.post(f"{detail_url}/cancel", data={"reason": "Teacher ill"})

    assert refused.status_code == 403 and b"hours before" in refused.data
    assert [a.status for a, b in still if b.starts_at == slot.start] == ["confirmed"]
    assert allowed.status_code == 302
    assert [
        a.status for a, b in bookings_of(owner, music.people["Ada"]) if b.starts_at == slot.start
    ] == ["cancelled"]


def test_reschedule_shows_only_free_times_and_moves_atomically(
    visit, music, free_slots, owner, mailbox, outbox
):
    slots = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    ada = visit("musicschool", ADA)
    alan = visit("musicschool", "alan@musicschool.demo")
    detail_url = book(ada, music, PIANO_30, slots[0]).headers["Location"].split("?")[0]
    taken_by_alan = slots[8]
    book(alan, music, PIANO_30, taken_by_alan)
    week = music.local(slots[0].start).date().isoformat()

    page = ada.get(f"{detail_url}/reschedule?week={week}").data.decode()
    target = slots[12]
    response = ada.post(f"{detail_url}/reschedule", data={"start": target.start.isoformat()})

    assert f'data-start="{taken_by_alan.start.isoformat()}"' not in page, "a taken time is offered"
    assert f'data-start="{target.start.isoformat()}"' in page
    assert response.status_code == 302, response.data[:400]
    rows = [
        (a, b)
        for a, b in bookings_of(owner, music.people["Ada"])
        if b.starts_at in (slots[0].start, target.start)
    ]
    assert [(a.status, b.starts_at) for a, b in rows] == [("confirmed", target.start)]
    change = owner.scalars(
        sa.select(BookingChange).where(
            BookingChange.attendee_id == rows[0][0].id, BookingChange.action == "rescheduled"
        )
    ).one()
    assert (change.from_starts_at, change.to_starts_at) == (slots[0].start, target.start)
    outbox.send()
    assert any("moved" in m["Subject"] for m in mailbox.wait_for(3))


def test_reschedule_onto_a_taken_time_changes_nothing(visit, music, free_slots, owner):
    slots = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    ada = visit("musicschool", ADA)
    alan = visit("musicschool", "alan@musicschool.demo")
    detail_url = book(ada, music, PIANO_30, slots[0]).headers["Location"].split("?")[0]
    book(alan, music, PIANO_30, slots[8])

    response = ada.post(
        f"{detail_url}/reschedule",
        data={"start": slots[8].start.isoformat(), "instructor": music.people["Clara"]},
    )

    assert response.status_code == 409 and b"just taken" in response.data
    assert [
        (a.status, b.starts_at)
        for a, b in bookings_of(owner, music.people["Ada"])
        if b.starts_at == slots[0].start
    ] == [("confirmed", slots[0].start)]


def test_admin_books_on_a_students_behalf(visit, music, free_slots, owner):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    admin = visit("musicschool", "grace@musicschool.demo")

    form = admin.get(confirm_url(music, PIANO_30, slot)).data.decode()
    response = book(admin, music, PIANO_30, slot, student=str(music.people["Katherine"]))

    assert "Katherine Johnson" in form and "booking on a student" in form
    assert response.status_code == 302
    [(attendee, booking)] = [
        r for r in bookings_of(owner, music.people["Katherine"]) if r[1].starts_at == slot.start
    ]
    assert attendee.booked_by_id == music.people["Grace"]


def test_any_qualified_instructor_gets_a_real_instructor(visit, music, free_slots, owner):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, mode="online")[0]
    ada = visit("musicschool", ADA)

    response = ada.post(confirm_url(music, PIANO_30, slot, instructor=0))

    assert response.status_code == 302
    [(_, booking)] = [
        r for r in bookings_of(owner, music.people["Ada"]) if r[1].starts_at == slot.start
    ]
    assert booking.instructor_id in slot.instructor_ids


def test_at_home_lesson_needs_an_address(visit, yoga, free_slots, owner):
    slot = free_slots(yoga, "Private session at home", days_ahead=FAR, instructor="Isambard")[0]
    jane = visit("yogastudio", "jane@yogastudio.demo")
    before = count_rows(owner)

    missing = book(jane, yoga, "Private session at home", slot)
    given = book(jane, yoga, "Private session at home", slot, address="1 Abbey Road, London")

    assert missing.status_code == 422 and b"address" in missing.data
    assert given.status_code == 302
    [(_, booking)] = [
        r for r in bookings_of(owner, yoga.people["Jane"]) if r[1].starts_at == slot.start
    ]
    assert booking.address == "1 Abbey Road, London" and count_rows(owner)[0] == before[0] + 1


# --- bad input: 4xx with a sentence, nothing written --------------------------------------------


def _bad_requests(music, yoga, slot):
    type_id = music.types[PIANO_30]
    clara = music.people["Clara"]
    at = slot.start
    three_am = music.local(at).replace(hour=3, minute=0).isoformat()
    soon = (clock.now() + timedelta(hours=2)).replace(microsecond=0, second=0)
    soon = soon.replace(minute=soon.minute - soon.minute % 15)
    return [
        (
            "a time that is not offered",
            type_id,
            {"start": three_am, "mode": "online", "instructor": clara},
            422,
            b"outside",
        ),
        (
            "the past",
            type_id,
            {
                "start": (at - timedelta(days=400)).isoformat(),
                "mode": "online",
                "instructor": clara,
            },
            422,
            b"past",
        ),
        (
            "too short notice",
            type_id,
            {"start": soon.isoformat(), "mode": "online", "instructor": clara},
            422,
            b"short notice",
        ),
        (
            "too far ahead",
            type_id,
            {"start": (at + timedelta(days=70)).isoformat(), "mode": "online", "instructor": clara},
            422,
            b"too far ahead",
        ),
        (
            "an instructor not qualified",
            type_id,
            {"start": at.isoformat(), "mode": "online", "instructor": music.people["Nadia"]},
            422,
            b"does not teach",
        ),
        (
            "an instructor of another school",
            type_id,
            {"start": at.isoformat(), "mode": "online", "instructor": yoga.people["Iris"]},
            422,
            b"does not teach",
        ),
        (
            "a mode the type does not allow",
            music.types["Piano lesson (60 min)"],
            {"start": at.isoformat(), "mode": "online", "instructor": clara},
            422,
            b"not offered",
        ),
        (
            "a location of another school",
            type_id,
            {
                "start": at.isoformat(),
                "mode": "in_person",
                "location": yoga.locations["Camden Studio"],
                "instructor": clara,
            },
            422,
            b"location",
        ),
        (
            "a malformed date",
            type_id,
            {"start": "next tuesday", "mode": "online", "instructor": clara},
            400,
            b"could not be read",
        ),
        (
            "a date without zone",
            type_id,
            {"start": "2030-01-01T10:00", "mode": "online", "instructor": clara},
            400,
            b"time zone",
        ),
        (
            "a malformed instructor",
            type_id,
            {"start": at.isoformat(), "mode": "online", "instructor": "x"},
            400,
            b"not valid",
        ),
        (
            "an unknown mode",
            type_id,
            {"start": at.isoformat(), "mode": "teleport", "instructor": clara},
            400,
            b"online",
        ),
        (
            "another school's type",
            yoga.types["Online flow (private)"],
            {"start": at.isoformat(), "mode": "online"},
            404,
            b"",
        ),
    ]


def test_bad_booking_requests_are_refused_in_words_and_write_nothing(
    visit, music, yoga, free_slots, owner
):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    ada = visit("musicschool", ADA)
    before = count_rows(owner)

    for what, type_id, query, status, words in _bad_requests(music, yoga, slot):
        response = ada.post(f"/book/{type_id}/confirm?{urlencode(query)}", data={})
        assert response.status_code == status, (
            f"{what}: expected {status}, got {response.status_code}: {response.data[-600:]}"
        )
        assert words.lower() in response.data.lower(), f"{what}: message missing"

    assert count_rows(owner) == before


def test_a_time_outside_the_hours_is_refused_as_such_even_next_to_a_lesson(
    visit, music, free_slots, owner
):
    """Fifteen minutes before Clara's day starts, overlapping her first lesson: the answer is
    that the time is outside her hours (422), not that it was "just taken" (409)."""
    slots = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    first = slots[0]
    early = first.start - timedelta(minutes=15)
    assert early not in {s.start for s in slots}, "the slot before the first is not offered"
    book(visit("musicschool", "alan@musicschool.demo"), music, PIANO_30, first)
    ada = visit("musicschool", ADA)
    before = count_rows(owner)

    response = ada.post(
        f"/book/{music.types[PIANO_30]}/confirm?"
        + urlencode(
            {"start": early.isoformat(), "mode": "online", "instructor": first.instructor_ids[0]}
        ),
        data={},
    )

    assert response.status_code == 422, response.data[-600:]
    assert b"outside" in response.data
    assert count_rows(owner) == before


def test_instructor_cannot_book_lessons(visit, music, free_slots):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]

    response = visit("musicschool", "clara@musicschool.demo").post(
        confirm_url(music, PIANO_30, slot)
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    "method,route",
    [("get", ""), ("post", "/cancel"), ("get", "/reschedule"), ("post", "/reschedule")],
)
def test_someone_elses_booking_is_404(visit, music, yoga, free_slots, owner, method, route):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    alan = visit("musicschool", "alan@musicschool.demo")
    alans = book(alan, music, PIANO_30, slot).headers["Location"].split("?")[0]
    yoga_attendee = owner.scalar(
        sa.select(BookingAttendee.id).where(BookingAttendee.organization_id == yoga.id)
    )
    ada = visit("musicschool", ADA)
    before = count_rows(owner)

    mine_not = getattr(ada, method)(f"{alans}{route}", data={"start": slot.start.isoformat()})
    other_school = getattr(ada, method)(
        f"/bookings/{yoga_attendee}{route}", data={"start": slot.start.isoformat()}
    )

    assert (mine_not.status_code, other_school.status_code) == (404, 404)
    owner.expire_all()
    assert count_rows(owner) == before
    assert (
        owner.scalar(
            sa.select(BookingAttendee.status).where(
                BookingAttendee.id == int(alans.rsplit("/", 1)[1])
            )
        )
        == "confirmed"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/book/{type}",
        "/book/{type}/times",
        "/book/{type}/confirm?start=2030-01-01T10:00:00%2B00:00&mode=online",
    ],
)
def test_another_schools_appointment_type_is_404_on_every_page(visit, yoga, path):
    response = visit("musicschool", ADA).get(path.format(type=yoga.types["Online flow (private)"]))

    assert response.status_code == 404


def test_booking_pages_do_not_exist_on_the_platform_domain(visit):
    assert visit(None).get("/book/").status_code == 404
    assert visit(None).get("/bookings/").status_code == 404


def test_student_cannot_move_a_lesson_to_another_instructor(visit, music, free_slots, owner):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")[0]
    scott = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Scott", mode="online")[0]
    ada = visit("musicschool", ADA)
    detail_url = book(ada, music, PIANO_30, slot).headers["Location"].split("?")[0]

    response = ada.post(
        f"{detail_url}/reschedule",
        data={"start": scott.start.isoformat(), "instructor": music.people["Scott"]},
    )

    assert response.status_code == 403
    assert [
        (b.instructor_id, b.starts_at)
        for a, b in bookings_of(owner, music.people["Ada"])
        if b.starts_at == slot.start
    ] == [(music.people["Clara"], slot.start)]
