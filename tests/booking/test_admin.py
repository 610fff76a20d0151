"""Admin panels for hours, overrides, time off, closures and bookings; the teaching portal."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.models import BookingChange, HoursOverride, SchoolClosure, TimeOff, WorkingHours
from tests.booking.conftest import confirm_url, next_weekday
from tests.conftest import statements_run

GRACE = "grace@musicschool.demo"
CLARA = "clara@musicschool.demo"
PIANO_30 = "Piano lesson (30 min)"


def hours_of(owner, instructor_id: int) -> list[WorkingHours]:
    owner.expire_all()
    return owner.scalars(
        sa.select(WorkingHours)
        .where(WorkingHours.instructor_id == instructor_id)
        .order_by(WorkingHours.id)
    ).all()


def hours_form(instructor_id: int, weekday: int, start: str, end: str, **extra) -> dict:
    return {
        "instructor": str(instructor_id),
        "weekday": str(weekday),
        "start_time": start,
        "end_time": end,
        "location_modes": ["online"],
        **extra,
    }


def test_admin_adds_weekly_hours_and_they_become_bookable(visit, music, owner, free_slots):
    nadia = music.people["Nadia"]
    before = len(hours_of(owner, nadia))
    admin = visit("musicschool", GRACE)

    response = admin.post("/workinghoursview/add", data=hours_form(nadia, 5, "15:00", "17:00"))

    assert response.status_code == 302, response.data[-800:]
    assert len(hours_of(owner, nadia)) == before + 1
    saturday = next_weekday(5, music.zone, at_least_days=20)
    slots = free_slots(
        music,
        "Music theory (online)",
        instructor="Nadia",
        days_ahead=(saturday - clock.now().astimezone(music.zone).date()).days,
        days=1,
    )
    assert [music.local(s.start).strftime("%H:%M") for s in slots] == [
        "15:00",
        "15:15",
        "15:30",
        "15:45",
        "16:00",
    ]


def test_overlapping_or_off_grid_hours_are_refused_in_words(visit, music, owner):
    clara = music.people["Clara"]
    before = len(hours_of(owner, clara))
    admin = visit("musicschool", GRACE)

    def add(**form):
        response = admin.post("/workinghoursview/add", data=hours_form(clara, **form))
        assert response.status_code == 422, "the form comes back with the reason"
        assert f'value="{form["start"]}"'.encode() in response.data, "with what was typed"
        return response

    overlap = add(weekday=0, start="19:00", end="21:00")
    off_grid = add(weekday=6, start="10:03", end="12:00")
    backwards = add(weekday=6, start="12:00", end="10:00")
    place = add(
        weekday=6, start="08:00", end="09:00", location=str(music.locations["Riverside Hall"])
    )

    assert (
        "Clara Schumann, Monday 2:00 PM–8:00 PM overlaps 7:00 PM–9:00 PM" in overlap.data.decode()
    )
    assert b"5-minute grid" in off_grid.data
    assert b"start must be before the end" in backwards.data
    assert b"only applies to in-person" in place.data
    assert len(hours_of(owner, clara)) == before


def test_time_off_and_closures_remove_free_times(visit, music, free_slots, owner):
    monday = next_weekday(0, music.zone, at_least_days=28)
    tuesday = monday + timedelta(days=1)
    days_ahead = (monday - clock.now().astimezone(music.zone).date()).days
    admin = visit("musicschool", GRACE)

    away = admin.post(
        "/timeoffview/add",
        data={
            "instructor": str(music.people["Clara"]),
            "first_day": monday.isoformat(),
            "last_day": monday.isoformat(),
            "reason": "Dentist",
        },
    )
    closed = admin.post(
        "/schoolclosureview/add",
        data={
            "name": "Founders' day",
            "first_day": tuesday.isoformat(),
            "last_day": tuesday.isoformat(),
        },
    )
    backwards = admin.post(
        "/schoolclosureview/add",
        data={"name": "Oops", "first_day": tuesday.isoformat(), "last_day": monday.isoformat()},
    )

    assert (away.status_code, closed.status_code) == (302, 302)
    assert backwards.status_code == 422
    assert b"last day is before the first" in backwards.data
    assert b'value="Oops"' in backwards.data
    slots = free_slots(music, PIANO_30, days_ahead=days_ahead, days=2)
    days = {music.local(s.start).date() for s in slots}
    assert monday not in days or all(
        music.people["Clara"] not in s.instructor_ids
        for s in slots
        if music.local(s.start).date() == monday
    )
    assert tuesday not in days
    owner.expire_all()
    assert owner.scalar(sa.select(SchoolClosure).where(SchoolClosure.name == "Oops")) is None


def test_override_replaces_the_days_hours(visit, music, free_slots):
    wednesday = next_weekday(2, music.zone, at_least_days=28)
    days_ahead = (wednesday - clock.now().astimezone(music.zone).date()).days
    admin = visit("musicschool", GRACE)

    response = admin.post(
        "/hoursoverrideview/add",
        data={
            "instructor": str(music.people["Clara"]),
            "day": wednesday.isoformat(),
            "start_time": "10:00",
            "end_time": "11:00",
            "location_modes": ["online"],
        },
    )

    assert response.status_code == 302, response.data[-600:]
    slots = free_slots(music, PIANO_30, days_ahead=days_ahead, days=1, instructor="Clara")
    assert [music.local(s.start).strftime("%H:%M") for s in slots] == ["10:00", "10:15", "10:30"]


def test_admin_booking_list_shows_students_and_records_link_changes(
    visit, music, free_slots, owner
):
    slot = free_slots(music, PIANO_30, days_ahead=28, instructor="Clara", mode="online")[0]
    ada = visit("musicschool", "ada@musicschool.demo")
    detail = ada.post(confirm_url(music, PIANO_30, slot)).headers["Location"].split("?")[0]
    attendee_id = int(detail.rsplit("/", 1)[1])
    admin = visit("musicschool", GRACE)
    booking_id = owner.scalar(
        sa.text("SELECT booking_id FROM booking_attendees WHERE id = :id"), {"id": attendee_id}
    )

    listing = admin.get("/bookingview/list/?_oc_BookingView=starts_at&_od_BookingView=desc")
    show = admin.get(f"/bookingview/show/{booking_id}")
    edit = admin.post(
        f"/bookingview/edit/{booking_id}", data={"meeting_link": "https://meet.example/ada"}
    )

    assert listing.status_code == 200
    assert f'href="/bookings/{attendee_id}"'.encode() in show.data
    assert b"Ada Lovelace" in show.data
    assert edit.status_code == 302
    owner.expire_all()
    actions = owner.scalars(
        sa.select(BookingChange.action)
        .where(BookingChange.booking_id == booking_id)
        .order_by(BookingChange.id)
    ).all()
    assert actions == ["booked", "details_changed"]


def test_instructor_edits_own_hours_in_the_portal(visit, music, owner):
    clara = visit("musicschool", CLARA)
    before = len(hours_of(owner, music.people["Clara"]))

    page = clara.get("/teaching/schedule/")
    added = clara.post(
        "/teaching/schedule/hours",
        data={
            "weekday": "6",
            "start_time": "09:00",
            "end_time": "11:00",
            "location": "0",
            "modes": ["online"],
        },
    )
    overlap = clara.post(
        "/teaching/schedule/hours",
        data={
            "weekday": "6",
            "start_time": "10:00",
            "end_time": "12:00",
            "location": "0",
            "modes": ["online"],
        },
    )
    new = hours_of(owner, music.people["Clara"])[-1]
    removed = clara.post(f"/teaching/schedule/hours/{new.id}/delete")

    assert page.status_code == 200 and b"Weekly hours" in page.data
    assert added.status_code == 302 and len(hours_of(owner, music.people["Clara"])) == before
    assert overlap.status_code == 400 and b"overlaps" in overlap.data
    assert removed.status_code == 302


def test_instructor_adds_time_off_and_a_different_day(visit, music, owner):
    clara = visit("musicschool", CLARA)
    day = next_weekday(3, music.zone, at_least_days=40)

    away = clara.post(
        "/teaching/schedule/time-off",
        data={"first_day": day.isoformat(), "last_day": day.isoformat(), "reason": "Conference"},
    )
    other = clara.post(
        "/teaching/schedule/overrides",
        data={
            "day": (day + timedelta(days=1)).isoformat(),
            "start_time": "09:00",
            "end_time": "10:00",
            "location": "0",
            "modes": ["online"],
        },
    )

    assert (away.status_code, other.status_code) == (302, 302)
    owner.expire_all()
    assert (
        owner.scalar(
            sa.select(TimeOff.reason).where(
                TimeOff.instructor_id == music.people["Clara"], TimeOff.first_day == day
            )
        )
        == "Conference"
    )
    assert (
        owner.scalar(
            sa.select(HoursOverride.id).where(
                HoursOverride.instructor_id == music.people["Clara"],
                HoursOverride.day == day + timedelta(days=1),
            )
        )
        is not None
    )


def test_instructor_cannot_touch_another_instructors_hours(visit, music, yoga, owner):
    scotts = hours_of(owner, music.people["Scott"])[0]
    iris = hours_of(owner, yoga.people["Iris"])[0]
    clara = visit("musicschool", CLARA)

    mine_not = clara.post(f"/teaching/schedule/hours/{scotts.id}/delete")
    other_school = clara.post(f"/teaching/schedule/hours/{iris.id}/delete")
    student = visit("musicschool", "ada@musicschool.demo").get("/teaching/schedule/")

    assert (mine_not.status_code, other_school.status_code) == (404, 404)
    assert student.status_code in (302, 403)
    assert len(hours_of(owner, music.people["Scott"])) >= 1
    owner.expire_all()
    assert owner.get(WorkingHours, scotts.id) is not None
    assert owner.get(WorkingHours, iris.id) is not None


def test_instructor_schedule_lists_their_lessons(visit, music, free_slots):
    slot = free_slots(music, PIANO_30, days_ahead=3, instructor="Clara", mode="online")[0]
    visit("musicschool", "ada@musicschool.demo").post(confirm_url(music, PIANO_30, slot))

    page = visit("musicschool", CLARA).get("/teaching/schedule/").data.decode()

    assert "Ada Lovelace" in page
    assert music.when(slot.start) in page


def statements_for(app, visitor, path: str) -> tuple[int, bytes]:
    """(SQL statements the request ran, its body)."""
    with statements_run(app) as statements:
        response = visitor.get(path)
    assert response.status_code == 200, response.status_code
    return len(statements), response.data


def test_bookings_list_costs_the_same_queries_for_one_row_or_a_page(app, visit, owner, music):
    shown = min(
        10,
        owner.scalar(sa.text(f"SELECT count(*) FROM bookings WHERE organization_id = {music.id}")),
    )
    assert shown >= 3, f"the demo school should have a few bookings, got {shown}"
    admin = visit("musicschool", GRACE)
    one, _ = statements_for(app, admin, "/bookingview/list/?psize_BookingView=1")
    page, body = statements_for(app, admin, f"/bookingview/list/?psize_BookingView={shown}")

    assert body.count(b'href="/bookings/') >= shown, "every booking on the page lists its students"
    assert page == one, (
        f"expected the same statements for 1 and {shown} bookings (types, instructors, places "
        f"and students loaded together), got {one} and {page}"
    )


def test_bookings_search_offers_instructors_not_every_member(visit):
    admin = visit("musicschool", GRACE)

    listing = admin.get("/bookingview/list/")

    # The search form is JSON in the page: its instructor <select>, escaped.
    choices = re.search(rb'id=\\"instructor\\".*?/select', listing.data)
    assert choices, "the search form has an instructor choice"
    assert b"Clara" in choices.group(), f"an instructor is offered, got {choices.group()[:300]}"
    assert b"Ada Lovelace" not in choices.group(), (
        f"a student is not offered as an instructor to search by, got {choices.group()[:300]}"
    )
