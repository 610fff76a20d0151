"""GET /api/availability: the booking page's free times as JSON, with the same tenant rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app import clock

PIANO_30 = "Piano lesson (30 min)"


def test_availability_lists_the_same_times_as_the_core(visit, music, free_slots):
    first = (clock.now().astimezone(music.zone) + timedelta(days=28)).date()
    expected = free_slots(music, PIANO_30, days_ahead=28, instructor="Clara", mode="online")

    response = visit("musicschool").get(
        f"/api/availability?type={music.types[PIANO_30]}&from={first}"
        f"&to={first + timedelta(days=7)}&instructor={music.people['Clara']}&mode=online"
        "&tz=Asia/Tokyo"
    )

    data = response.get_json()
    assert response.status_code == 200
    assert (data["school"], data["time_zone"]) == ("musicschool", "America/New_York")
    assert [s["start"] for s in data["slots"]] == [s.start.isoformat() for s in expected]
    first_slot = data["slots"][0]
    assert first_slot["instructors"] == [
        {"id": music.people["Clara"], "name": "Clara Schumann", "seats_left": 1}
    ]
    tokyo = datetime.fromisoformat(first_slot["start_student"])
    assert tokyo.utcoffset() == timedelta(hours=9)
    assert tokyo == datetime.fromisoformat(first_slot["start"])
    local = datetime.fromisoformat(first_slot["start_local"])
    assert local.utcoffset() == expected[0].start.astimezone(ZoneInfo(music.time_zone)).utcoffset()


def test_availability_defaults_to_a_week_from_today(visit, music):
    data = visit("musicschool").get(f"/api/availability?type={music.types[PIANO_30]}").get_json()

    today = clock.now().astimezone(music.zone).date()
    assert (data["from"], data["to"]) == (
        today.isoformat(),
        (today + timedelta(days=7)).isoformat(),
    )


def test_availability_bad_input_is_400_with_a_message(visit, music, yoga):
    api = visit("musicschool")
    type_id = music.types[PIANO_30]
    cases = [
        ("", 400, "appointment type"),
        (f"type={type_id}&from=31/12/2026", 400, "not a date"),
        (f"type={type_id}&from=2030-01-10&to=2030-01-01", 400, "after"),
        (f"type={type_id}&from=2030-01-01&to=2030-06-01", 400, "at most"),
        (f"type={type_id}&mode=teleport", 400, "online"),
        (f"type={type_id}&tz=Mars/Olympus", 400, "time zone"),
        (f"type={type_id}&instructor=abc", 400, "not valid"),
        (f"type={type_id}&instructor={music.people['Nadia']}", 422, "does not teach"),
        (f"type={type_id}&location={yoga.locations['Camden Studio']}", 422, "location"),
        (f"type={yoga.types['Drop-in yoga class']}", 404, "does not offer"),
        ("type=999999", 404, "does not offer"),
    ]
    for query, status, words in cases:
        response = api.get(f"/api/availability?{query}")
        assert response.status_code == status, (query, response.status_code, response.data)
        assert words in response.get_json()["message"], (query, response.get_json())


def test_availability_is_not_served_on_the_platform_or_to_other_schools_members(visit, music):
    platform = visit(None).get(f"/api/availability?type={music.types[PIANO_30]}")
    yoga_member = visit("musicschool")
    yoga_member.login("jane@yogastudio.demo")
    foreign = yoga_member.get(f"/api/availability?type={music.types[PIANO_30]}")

    assert platform.status_code == 404 and platform.is_json
    assert foreign.status_code == 403
