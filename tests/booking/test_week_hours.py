"""An instructor's whole week of hours on one page (app/booking/week_hours.py)."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa

from app.models import Membership, MembershipRole, User, WorkingHours
from tests.booking.test_disruptions import GRACE, lessons_on_one_day


def new_instructor(owner, music, make_students) -> int:
    email = make_students(music, 1, prefix="teacher")[0]
    membership = owner.scalar(
        sa.select(Membership).join(User, User.id == Membership.user_id).where(User.email == email)
    )
    membership.role = MembershipRole.INSTRUCTOR
    owner.commit()
    return membership.id


def ranges(owner, instructor_id: int) -> list[tuple]:
    owner.expire_all()
    return [
        (r.weekday, f"{r.start_time:%H:%M}", f"{r.end_time:%H:%M}")
        for r in owner.scalars(
            sa.select(WorkingHours)
            .where(WorkingHours.instructor_id == instructor_id)
            .order_by(WorkingHours.weekday, WorkingHours.start_time)
        )
    ]


def week_form(**days) -> dict:
    """``week_form(d0=[("09:00", "12:00")], copy0=["2"])``"""
    form: dict = {}
    for weekday in range(7):
        for n, (start, end) in enumerate(days.get(f"d{weekday}", [])):
            form[f"d{weekday}-{n}-start"] = start
            form[f"d{weekday}-{n}-end"] = end
            form[f"d{weekday}-{n}-modes"] = ["online"]
            form[f"d{weekday}-{n}-location"] = ""
        if f"copy{weekday}" in days:
            form[f"copy-{weekday}"] = days[f"copy{weekday}"]
    return form


def test_admin_sets_a_week_with_two_ranges_a_day_and_copies_a_day(
    visit, music, owner, make_students
):
    teacher = new_instructor(owner, music, make_students)
    admin = visit("musicschool", GRACE)

    page = admin.get(f"/availability/week/{teacher}")
    saved = admin.post(
        f"/availability/week/{teacher}",
        data=week_form(d0=[("09:00", "12:00"), ("13:00", "17:00")], copy0=["2", "4"]),
    )

    assert page.status_code == 200 and b"Weekly hours of Racer0 Test" in page.data
    assert saved.status_code == 302, saved.data[-1500:]
    assert ranges(owner, teacher) == [
        (d, start, end)
        for d in (0, 2, 4)
        for start, end in (("09:00", "12:00"), ("13:00", "17:00"))
    ]
    shown = admin.get(f"/availability/week/{teacher}").data.decode()
    # Prefilled the school's way: the music school (New York) writes 12-hour times.
    assert 'name="d2-1-start"' in shown and f'value="{music.clock(time(13))}"' in shown

    trimmed = admin.post(f"/availability/week/{teacher}", data=week_form(d0=[("09:00", "12:00")]))

    assert trimmed.status_code == 302
    assert ranges(owner, teacher) == [(0, "09:00", "12:00")]


def test_overlaps_bad_times_and_other_schools_instructors_are_refused(
    visit, music, yoga, owner, make_students
):
    teacher = new_instructor(owner, music, make_students)
    admin = visit("musicschool", GRACE)

    overlap = admin.post(
        f"/availability/week/{teacher}", data=week_form(d0=[("09:00", "12:00"), ("11:00", "13:00")])
    )
    garbled = admin.post(f"/availability/week/{teacher}", data=week_form(d1=[("nine", "12:00")]))
    foreign = admin.post(f"/availability/week/{yoga.people['Iris']}", data=week_form())
    student = visit("musicschool", "ada@musicschool.demo").get(f"/availability/week/{teacher}")

    assert overlap.status_code == 422 and b"overlap" in overlap.data.lower()
    assert f'value="{music.clock(time(11))}"' in overlap.data.decode(), "typed, comes back"
    assert garbled.status_code == 422 and b"give a time like 2:00 PM" in garbled.data
    assert foreign.status_code == 404
    assert student.status_code in (302, 403)
    assert ranges(owner, teacher) == []


def test_a_week_that_drops_a_booked_lesson_lists_it_first(
    app, visit, music, free_slots, owner, make_students
):
    students = make_students(music, 1, prefix="weekhit")
    day, (lesson,) = lessons_on_one_day(app, music, free_slots, students)
    clara = music.people["Clara"]
    before = ranges(owner, clara)
    admin = visit("musicschool", GRACE)

    emptied = admin.post(f"/availability/week/{clara}", data=week_form())

    assert emptied.status_code == 422
    assert f'data-lesson="{lesson}"'.encode() in emptied.data
    assert ranges(owner, clara) == before, "nothing saved until each lesson has a choice"
