"""The school admin's home page (app/booking/dashboard.py): today, this week, recent bookings
and cancellations, and lessons that need attention — in the school's zone, only its own."""

from __future__ import annotations

from datetime import timedelta

from app.booking.schedule_data import local_midnight
from tests.booking.test_disruptions import GRACE, lessons_on_one_day, time_off_form

FLORENCE = "florence@yogastudio.demo"


def section(page: bytes, name: str) -> str:
    text = page.decode()
    start = text.index(f"data-{name}")
    return text[start : text.index("</section>", start)]


def test_dashboard_lists_new_bookings_and_lessons_needing_attention(
    app, visit, music, free_slots, make_students
):
    students = make_students(music, 2, prefix="dash")
    day, (kept, cancelled) = lessons_on_one_day(app, music, free_slots, students)
    admin = visit("musicschool", GRACE)
    listed = admin.post("/timeoffview/add", data=time_off_form(music, day))
    assert listed.status_code == 422
    saved = admin.post(
        "/timeoffview/add",
        data=time_off_form(
            music, day, **{f"lesson-{kept}": "keep", f"lesson-{cancelled}": "cancel"}
        ),
    )
    assert saved.status_code == 302

    home = admin.get("/")

    assert home.status_code == 200
    assert f"Times in {music.time_zone}".encode() in home.data
    new = section(home.data, "new-bookings")
    assert "Racer0 Test" in new and "Racer1 Test" in new
    assert "Racer1 Test" in section(home.data, "cancellations")
    attention = section(home.data, "attention")
    assert f'data-attention-lesson="{kept}"' in attention
    assert "The instructor is away at that time." in attention and "kept on purpose" in attention
    assert f'data-attention-lesson="{cancelled}"' not in attention
    other_school = visit("yogastudio", FLORENCE).get("/")
    assert b"Racer0 Test" not in other_school.data and b"Racer1 Test" not in other_school.data


def test_dashboard_shows_todays_and_this_weeks_lessons_at_the_schools_time(
    app, visit, music, free_slots, make_students, clock
):
    students = make_students(music, 1, prefix="dash")
    day, (lesson,) = lessons_on_one_day(app, music, free_slots, students)
    clock.set(local_midnight(day, music.zone) + timedelta(minutes=1))
    admin = visit("musicschool", GRACE)

    home = admin.get("/")

    today = section(home.data, "today")
    assert day.strftime("%A %d %B") in today and "Racer0 Test" in today
    week = section(home.data, "week")
    assert f'data-day="{day.isoformat()}"' in week and "Racer0 Test" in week
    assert "New bookings (last 7 days)" in home.data.decode()


def test_other_members_get_the_plain_home_page(visit):
    student = visit("musicschool", "ada@musicschool.demo").get("/")
    assert student.status_code == 200 and b"data-dashboard" not in student.data
    assert b"My bookings" in student.data
