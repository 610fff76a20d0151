"""The calendar pages: the admins' day/week/month calendar and booking page (cancel, move), the
instructor's week (hours shaded) and lesson detail (cancel with a reason), bad input and other
schools' ids."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import Booking, BookingAttendee, BookingChange
from tests.calendars.conftest import PIANO_30
from tests.conftest import body

GRACE = "grace@musicschool.demo"
CLARA = "clara@musicschool.demo"
SCOTT = "scott@musicschool.demo"
ADA = "ada@musicschool.demo"
FLORENCE = "florence@yogastudio.demo"


def booking_row(owner, booking_id: int) -> Booking:
    owner.expire_all()
    return owner.get(Booking, booking_id)


def cell_of(html: str, booking_id: int) -> tuple[str, str | None]:
    """(data-day, data-hour) of the grid cell that holds the booking's entry."""
    cells = re.findall(
        r"<td[^>]*data-day=\"([\d-]+)\"(?: data-hour=\"(\d+)\")?[^>]*>(.*?)</td>", html, re.S
    )
    found = [(day, hour) for day, hour, inner in cells if f'data-booking="{booking_id}"' in inner]
    assert len(found) == 1, f"booking {booking_id} in cells {found}"
    return found[0]


def local_cell(school, owner, booking_id: int) -> tuple[str, str]:
    local = school.local(booking_row(owner, booking_id).starts_at)
    return local.date().isoformat(), str(local.hour)


def test_admin_week_day_and_month_put_each_booking_in_its_cell(visit, music, book, owner):
    _, clara_lesson = book(music, instructor="Clara")
    _, scott_lesson = book(music, instructor="Scott", student="Alan")
    day, hour = local_cell(music, owner, clara_lesson)
    grace = visit("musicschool", GRACE)

    week = grace.get(f"/calendar/?date={day}").data.decode()
    day_view = grace.get(f"/calendar/?view=day&date={day}").data.decode()
    month = grace.get(f"/calendar/?view=month&date={day}").data.decode()

    assert cell_of(week, clara_lesson) == (day, hour)
    assert cell_of(day_view, clara_lesson) == (day, hour)
    assert cell_of(month, clara_lesson) == (day, "")
    assert "America/New York" in week and "Booking calendar" in week
    assert f'href="/calendar/bookings/{clara_lesson}"' in week
    assert "#2563eb" in week, "coloured by the type's colour"
    scott_day = music.local(booking_row(owner, scott_lesson).starts_at).date()
    monday = music.local(booking_row(owner, clara_lesson).starts_at).date()
    monday -= timedelta(days=monday.weekday())
    if monday <= scott_day < monday + timedelta(days=7):
        assert f'data-booking="{scott_lesson}"' in week


def test_filters_and_cancelled_bookings(app, visit, music, book, owner):
    from app.booking import service
    from app.extensions import db
    from app.models import Membership
    from tests.calendars.conftest import in_school

    seat, clara_lesson = book(music, instructor="Clara")
    _, kept = book(music, instructor="Clara", slot_index=3, student="Alan")
    with in_school(app, music):
        admin = db.session.get(Membership, music.people["Grace"])
        service.cancel_booking(seat, actor=admin, reason="Flu")
    day, _ = local_cell(music, owner, kept)
    grace = visit("musicschool", GRACE)

    default = grace.get(f"/calendar/?date={day}").data.decode()
    with_cancelled = grace.get(f"/calendar/?date={day}&cancelled=1").data.decode()
    only_scott = grace.get(
        f"/calendar/?date={day}&instructor={music.people['Scott']}"
    ).data.decode()
    only_other_type = grace.get(
        f"/calendar/?date={day}&type={music.types['Music theory (online)']}"
    ).data.decode()

    assert f'data-booking="{kept}"' in default
    assert f'data-booking="{clara_lesson}"' not in default, "cancelled hidden by default"
    assert re.search(rf'data-booking="{clara_lesson}" data-status="cancelled"', with_cancelled)
    assert f'data-booking="{kept}"' not in only_scott
    assert f'data-booking="{kept}"' not in only_other_type


def test_group_class_shows_its_free_places(visit, music, book, ensemble):
    _, session = book(music, ensemble, student="Ada")
    book(music, ensemble, student="Alan")
    grace = visit("musicschool", GRACE)

    page = grace.get(f"/calendar/bookings/{session}").data.decode()
    calendar = grace.get("/calendar/?view=month&date=" + _day_of(grace, session)).data.decode()

    assert "2 of 3 taken, 1 free" in page
    assert "2/3 taken, 1 free" in calendar


def _day_of(visitor, booking_id: int) -> str:
    page = visitor.get(f"/calendar/bookings/{booking_id}").data.decode()
    when = re.search(r"<dt>When</dt><dd>(\w{3} \d{2} \w{3} \d{4})", page).group(1)
    from datetime import datetime

    return datetime.strptime(when, "%a %d %b %Y").date().isoformat()


@pytest.mark.parametrize(
    "query, message",
    [
        ("view=year", "Choose a day, week or month view."),
        ("date=31-12-2026", "That date could not be read"),
        ("instructor=abc", "That instructor is not part of this school"),
        ("location=999999", "That location is not part of this school"),
    ],
)
def test_calendar_refuses_bad_input_with_a_sentence(visit, query, message):
    response = visit("musicschool", GRACE).get(f"/calendar/?{query}")
    assert response.status_code == 400 and message in response.data.decode()


def test_calendar_refuses_another_schools_filters_and_bookings(visit, music, yoga, book):
    _, music_lesson = book(music)
    florence = visit("yogastudio", FLORENCE)
    yoga_instructor = yoga.people["Iris"]

    filtered = visit("musicschool", GRACE).get(f"/calendar/?instructor={yoga_instructor}")
    other_booking = florence.get(f"/calendar/bookings/{music_lesson}")
    other_cancel = florence.post(f"/calendar/bookings/{music_lesson}/cancel", data={"reason": "x"})
    other_move = florence.get(f"/calendar/bookings/{music_lesson}/move")

    assert filtered.status_code == 400
    assert other_booking.status_code == other_cancel.status_code == other_move.status_code == 404


def test_only_admins_see_the_school_calendar(visit):
    assert visit("musicschool", CLARA).get("/calendar/").status_code == 403
    assert visit("musicschool", ADA).get("/calendar/").status_code == 403
    anonymous = visit("musicschool").get("/calendar/")
    assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"]


def test_admin_cancels_from_the_booking_page_with_a_reason(visit, music, book, owner, mailbox):
    _, lesson = book(music)
    grace = visit("musicschool", GRACE)

    no_reason = grace.post(f"/calendar/bookings/{lesson}/cancel", data={"reason": " "})
    assert no_reason.status_code == 400 and "say why" in no_reason.data.decode()
    assert booking_row(owner, lesson).status == "confirmed", "nothing written"
    done = grace.post(f"/calendar/bookings/{lesson}/cancel", data={"reason": "Storm warning"})

    assert done.status_code == 302
    row = booking_row(owner, lesson)
    assert row.status == "cancelled" and row.cancellation_reason == "Storm warning"
    assert (
        owner.scalar(
            sa.select(BookingChange.details).where(
                BookingChange.booking_id == lesson, BookingChange.action == "cancelled"
            )
        )
        == "Storm warning"
    )
    mailbox.wait_for(1)
    assert mailbox.to(ADA), "the student is told"
    again = grace.post(f"/calendar/bookings/{lesson}/cancel", data={"reason": "again"})
    assert again.status_code == 409


def test_admin_moves_a_lesson_to_a_free_time(visit, music, book, owner, free_slots):
    seat, lesson = book(music)
    grace = visit("musicschool", GRACE)
    before = booking_row(owner, lesson)
    old_start, old_sequence = before.starts_at, before.sequence
    week = music.local(old_start).date() + timedelta(days=7)

    page = grace.get(f"/calendar/bookings/{lesson}/move?seat={seat}&week={week}").data.decode()
    offered = re.findall(r'data-slot="([^"]+)"', page)
    moved = grace.post(
        f"/calendar/bookings/{lesson}/move", data={"seat": seat, "start": offered[0]}
    )
    nonsense = grace.post(
        f"/calendar/bookings/{lesson}/move", data={"seat": seat, "start": "tomorrow"}
    )

    assert offered, "free times of the same instructor are offered"
    assert moved.status_code == 302
    after = booking_row(owner, lesson)
    assert after.starts_at.isoformat() == offered[0] and after.starts_at != old_start
    assert after.sequence == old_sequence + 1
    assert nonsense.status_code == 400 and "could not be read" in nonsense.data.decode()


def test_instructor_week_shades_hours_and_shows_only_their_lessons(visit, music, book, owner):
    _, mine = book(music, instructor="Clara")
    _, scotts = book(music, instructor="Scott", student="Alan")
    day, hour = local_cell(music, owner, mine)

    page = visit("musicschool", CLARA).get(f"/teaching/week?week={day}").data.decode()

    assert cell_of(page, mine) == (day, hour)
    assert f'data-booking="{scotts}"' not in page
    assert f'href="/teaching/lessons/{mine}"' in page
    # Clara teaches Monday to Friday 14:00-20:00 and Saturday 10:00-14:00; never on Sunday.
    monday = re.search(r'data-day-head="([\d-]+)"', page).group(1)
    assert re.search(rf'data-day="{monday}" data-hour="15" data-working', page)
    assert not re.search(rf'data-day="{monday}" data-hour="9" data-working', page)
    sunday = re.findall(r'data-day-head="([\d-]+)"', page)[6]
    assert not re.search(rf'data-day="{sunday}" data-hour="\d+" data-working', page)
    assert "America/New York" in page


def test_instructor_opens_a_lesson_and_cancels_it_with_a_reason(visit, music, book, owner, mailbox):
    seat, lesson = book(music, instructor="Clara", notes="Wants to try jazz")
    clara = visit("musicschool", CLARA)

    detail = clara.get(f"/teaching/lessons/{lesson}").data.decode()
    no_reason = clara.post(f"/teaching/lessons/{lesson}/cancel", data={"reason": ""})
    assert no_reason.status_code == 400 and booking_row(owner, lesson).status == "confirmed"
    cancelled = clara.post(f"/teaching/lessons/{lesson}/cancel", data={"reason": "Concert tour"})

    assert "Ada Lovelace" in detail and "Wants to try jazz" in detail and ADA in detail
    assert cancelled.status_code == 302
    assert booking_row(owner, lesson).status == "cancelled"
    owner.expire_all()
    assert owner.get(BookingAttendee, seat).cancellation_reason == "Concert tour"
    messages = mailbox.wait_for(1)
    assert mailbox.to(ADA), [m["To"] for m in messages]
    assert any("cancel" in body(m).lower() for m in mailbox.to(ADA))


def test_instructor_cannot_open_or_cancel_anothers_lesson(visit, music, yoga, book, owner):
    _, scotts = book(music, instructor="Scott", student="Alan")
    clara = visit("musicschool", CLARA)
    iris = visit("yogastudio", "iris@yogastudio.demo")

    assert clara.get(f"/teaching/lessons/{scotts}").status_code == 404
    assert clara.post(f"/teaching/lessons/{scotts}/cancel", data={"reason": "x"}).status_code == 404
    assert iris.get(f"/teaching/lessons/{scotts}").status_code == 404
    assert visit("musicschool", ADA).get(f"/teaching/lessons/{scotts}").status_code == 403
    assert booking_row(owner, scotts).status == "confirmed"


def test_portal_schedule_links_each_lesson_to_its_detail(visit, music, book):
    _, soon = book(music, instructor="Clara", days_ahead=2)
    page = visit("musicschool", CLARA).get("/teaching/schedule/").data.decode()
    assert f'href="/teaching/lessons/{soon}"' in page
    assert PIANO_30 in page
