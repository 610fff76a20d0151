"""The booking page's conveniences: it opens on the first week with a free time, understands
a city typed as a time zone, and tells where a lesson meets (meeting link or address)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import AppointmentType, Location, Membership, TimeOff
from tests.booking.conftest import confirm_url

PIANO_30 = "Piano lesson (30 min)"
ADA = "ada@musicschool.demo"
FAR = 28


def times_url(music, **query) -> str:
    base = f"/book/{music.types[PIANO_30]}/times?instructor={music.people['Clara']}&mode=online"
    return base + "".join(f"&{key}={value}" for key, value in query.items())


def test_times_open_on_the_first_week_with_a_free_time(visit, music, free_slots, owner, clock):
    today = clock.now().astimezone(music.zone).date()
    owner.add(
        TimeOff(
            organization_id=music.id,
            instructor_id=music.people["Clara"],
            first_day=today,
            last_day=today + timedelta(days=20),
            reason="Long tour",
        )
    )
    owner.commit()
    first = free_slots(music, PIANO_30, days_ahead=0, days=60, instructor="Clara", mode="online")[0]
    first_day = music.local(first.start).date()
    monday = first_day - timedelta(days=first_day.weekday())

    page = visit("musicschool", ADA).get(times_url(music)).data.decode()

    assert f"Week of {monday.strftime('%d %B %Y')}" in page
    assert f'data-start="{first.start.isoformat()}"' in page
    assert "Previous week" in page, "the student can still look at the weeks before"


def test_a_city_is_understood_as_a_time_zone_and_an_unknown_one_is_said(visit, music):
    ada = visit("musicschool", ADA)

    paris = ada.get(times_url(music, tz="paris")).data.decode()
    nowhere = ada.get(times_url(music, tz="Atlantis")).data.decode()

    assert 'value="Europe/Paris"' in paris and "your time" in paris
    assert '<option value="Asia/Tokyo">' in paris, "the list to choose from"
    assert "We don't know a time zone called “Atlantis”" in nowhere


@pytest.fixture
def meeting_links(owner, music) -> Iterator[None]:
    """Clara's own room; cleared afterwards, like the type's."""
    clara = owner.get(Membership, music.people["Clara"])
    before = clara.meeting_link
    clara.meeting_link = "https://meet.example.com/clara-room"
    owner.commit()
    yield
    owner.rollback()
    clara = owner.get(Membership, music.people["Clara"])
    clara.meeting_link = before
    owner.get(AppointmentType, music.types[PIANO_30]).meeting_link = None
    owner.commit()


def test_online_lessons_meet_at_the_types_room_else_the_instructors(
    visit, music, free_slots, owner, meeting_links
):
    slots = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="online")
    ada = visit("musicschool", ADA)

    with_instructor_link = ada.get(ada.post(confirm_url(music, PIANO_30, slots[0])).location)
    owner.get(
        AppointmentType, music.types[PIANO_30]
    ).meeting_link = "https://meet.example.com/piano"
    owner.commit()
    with_type_link = ada.get(ada.post(confirm_url(music, PIANO_30, slots[4])).location)

    assert b'href="https://meet.example.com/clara-room"' in with_instructor_link.data
    assert b'href="https://meet.example.com/piano"' in with_type_link.data


def test_studio_lessons_show_the_address(visit, music, free_slots, owner):
    slot = free_slots(music, PIANO_30, days_ahead=FAR, instructor="Clara", mode="in_person")[0]
    location = owner.get(Location, slot.location_id)
    ada = visit("musicschool", ADA)

    confirm = ada.get(confirm_url(music, PIANO_30, slot)).data.decode()
    detail = ada.get(ada.post(confirm_url(music, PIANO_30, slot)).location).data.decode()

    assert location.address and f"{location.name}, {location.address}" in confirm
    assert f"{location.name}, {location.address}" in detail


@pytest.mark.parametrize(
    "link,words",
    [("meet.example.com/x", b"full address"), ("javascript:alert(1)//x.com", b"https://")],
)
def test_admin_cannot_save_a_meeting_link_that_is_not_a_web_address(
    visit, music, owner, link, words
):
    admin = visit("musicschool", "grace@musicschool.demo")
    type_id = music.types[PIANO_30]
    form = admin.get(f"/appointmenttypeview/edit/{type_id}")

    response = admin.post(
        f"/appointmenttypeview/edit/{type_id}",
        data={"name": PIANO_30, "meeting_link": link, "duration_minutes": 30, "capacity": 1},
    )

    assert form.status_code == 200 and words in response.data
    owner.expire_all()
    assert (
        owner.scalar(sa.select(AppointmentType.meeting_link).where(AppointmentType.id == type_id))
        is None
    )
