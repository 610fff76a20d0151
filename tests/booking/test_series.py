"""Weekly lessons over HTTP: preview with clashes, book the accepted weeks, cancel onward."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.models import Booking, BookingAttendee, BookingSeries, TimeOff
from tests.booking.conftest import confirm_url
from tests.conftest import body

PIANO_45 = "Piano lesson (45 min)"
ADA = "ada@musicschool.demo"


def series_rows(owner, student_id: int, first_start) -> list[tuple[BookingAttendee, Booking]]:
    owner.expire_all()
    return owner.execute(
        sa.select(BookingAttendee, Booking)
        .join(Booking, Booking.id == BookingAttendee.booking_id)
        .where(
            BookingAttendee.student_id == student_id,
            BookingAttendee.series_id.is_not(None),
            Booking.starts_at >= first_start,
        )
        .order_by(Booking.starts_at)
    ).all()


def test_weekly_series_shows_clashes_first_then_books_the_accepted_weeks(
    visit, music, weekly_free_slot, owner, mailbox, outbox
):
    slot, weeks = weekly_free_slot(music, PIANO_45, 4, instructor="Clara", mode="online")
    local_day = music.local(slot.start).date()
    # Clara is away in the third week: that week must be shown as a clash.
    owner.add(
        TimeOff(
            organization_id=music.id,
            instructor_id=music.people["Clara"],
            first_day=local_day + timedelta(days=14),
            last_day=local_day + timedelta(days=14),
            reason="Exam board",
        )
    )
    owner.commit()
    ada = visit("musicschool", ADA)
    url = confirm_url(music, PIANO_45, slot)

    preview = ada.post(url, data={"repeat": "weeks", "weeks": "4", "notes": "weekly"})
    page = preview.data.decode()
    accepted = [w.isoformat() for n, w in enumerate(weeks) if n != 2]
    nothing_yet = series_rows(owner, music.people["Ada"], slot.start)
    booked = ada.post(
        url,
        data={
            "repeat": "weeks",
            "weeks": "4",
            "notes": "weekly",
            "step": "book-series",
            "accepted": accepted,
        },
    )

    assert preview.status_code == 200
    assert page.count('data-bookable="yes"') == 3 and page.count('data-bookable="no"') == 1
    assert "The instructor is away at that time." in page
    assert nothing_yet == [], "the preview writes nothing"
    assert booked.status_code == 302, booked.data[-500:]
    rows = series_rows(owner, music.people["Ada"], slot.start)
    assert [b.starts_at for _, b in rows] == [w for n, w in enumerate(weeks) if n != 2]
    assert len({a.series_id for a, _ in rows}) == 1
    assert {music.local(b.starts_at).strftime("%H:%M") for _, b in rows} == {
        music.local(slot.start).strftime("%H:%M")
    }, "a weekly lesson keeps its local time"
    outbox.send()
    assert any("3 weekly lessons" in body(m) for m in mailbox.wait_for(2))


def test_series_until_a_date_and_cancel_from_one_lesson_onward(
    visit, music, weekly_free_slot, owner
):
    slot, weeks = weekly_free_slot(music, PIANO_45, 4, instructor="Clara", mode="online")
    until = music.local(weeks[-1]).date()
    ada = visit("musicschool", ADA)
    url = confirm_url(music, PIANO_45, slot)
    booked = ada.post(
        url,
        data={
            "repeat": "until",
            "until": until.isoformat(),
            "step": "book-series",
            "accepted": [w.isoformat() for w in weeks],
        },
    )
    rows = series_rows(owner, music.people["Ada"], slot.start)
    second = rows[1][0]

    response = ada.post(
        f"/bookings/{second.id}/cancel", data={"scope": "following", "reason": "Moving away"}
    )

    assert booked.status_code == 302 and len(rows) == 4
    assert response.status_code == 302
    statuses = [
        (a.status, b.status) for a, b in series_rows(owner, music.people["Ada"], slot.start)
    ]
    assert statuses == [("confirmed", "confirmed")] + [("cancelled", "cancelled")] * 3
    series = owner.get(BookingSeries, rows[0][0].series_id)
    assert series.until_day == until and series.weeks is None


def test_series_refuses_weeks_that_were_not_offered_and_writes_nothing(
    visit, music, free_slots, owner
):
    slot = free_slots(music, PIANO_45, days_ahead=26, instructor="Clara", mode="online")[0]
    ada = visit("musicschool", ADA)
    url = confirm_url(music, PIANO_45, slot)

    smuggled = ada.post(
        url,
        data={
            "repeat": "weeks",
            "weeks": "2",
            "step": "book-series",
            "accepted": [(slot.start + timedelta(days=3)).isoformat()],
        },
    )
    too_long = ada.post(url, data={"repeat": "weeks", "weeks": "80"})
    no_count = ada.post(url, data={"repeat": "weeks"})

    assert smuggled.status_code == 422 and b"not part of this series" in smuggled.data
    assert too_long.status_code == 400 and b"1 to 52" in too_long.data
    assert no_count.status_code == 400 and b"how many weeks" in no_count.data
    assert series_rows(owner, music.people["Ada"], slot.start) == []


def test_series_with_a_week_taken_meanwhile_books_nothing(visit, music, weekly_free_slot, owner):
    slot, weeks = weekly_free_slot(music, PIANO_45, 3, instructor="Clara", mode="online")
    ada = visit("musicschool", ADA)
    alan = visit("musicschool", "alan@musicschool.demo")
    url = confirm_url(music, PIANO_45, slot)
    # Between Ada's preview and her confirmation, Alan takes her third week.
    third = type(slot)(
        weeks[2],
        weeks[2] + timedelta(minutes=45),
        slot.location_mode,
        None,
        slot.instructor_ids,
        1,
        (),
    )
    assert alan.post(confirm_url(music, PIANO_45, third)).status_code == 302

    response = ada.post(
        url,
        data={
            "repeat": "weeks",
            "weeks": "3",
            "step": "book-series",
            "accepted": [w.isoformat() for w in weeks],
        },
    )

    assert response.status_code == 409 and b"Nothing was booked" in response.data
    assert series_rows(owner, music.people["Ada"], slot.start) == []
