"""One date's hours picked on the small calendar (admin's "Hours by week", the portal)."""

from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from app import clock
from app.models import HoursOverride, TimeOff
from tests.booking.test_disruptions import GRACE, lessons_on_one_day
from tests.booking.test_week_hours import new_instructor

CLARA = "clara@musicschool.demo"


def overrides(owner, instructor_id: int) -> list[tuple]:
    owner.expire_all()
    return [
        (o.day, o.start_time, o.end_time, sorted(o.location_modes))
        for o in owner.scalars(
            sa.select(HoursOverride)
            .where(HoursOverride.instructor_id == instructor_id)
            .order_by(HoursOverride.day, HoursOverride.start_time)
        )
    ]


def days_off(owner, instructor_id: int) -> list[tuple]:
    owner.expire_all()
    return [
        (t.first_day, t.last_day)
        for t in owner.scalars(sa.select(TimeOff).where(TimeOff.instructor_id == instructor_id))
    ]


def day_form(*ranges, not_teaching: bool = False, modes=("online",)) -> dict:
    form: dict = {}
    for n, (start, end) in enumerate([*ranges, ("", "")]):
        form |= {f"o-{n}-start": start, f"o-{n}-end": end, f"o-{n}-location": ""}
        form[f"o-{n}-modes"] = list(modes)
    if not_teaching:
        form["not_teaching"] = "1"
    return form


def test_the_calendar_marks_dates_and_a_clicked_date_gets_its_own_hours(
    visit, music, owner, make_students
):
    teacher = new_instructor(owner, music, make_students)
    admin = visit("musicschool", GRACE)
    day = clock.now().astimezone(music.zone).date() + timedelta(days=10)
    page_url = f"/availability/week/{teacher}?month={day:%Y-%m}&day={day.isoformat()}"

    opened = admin.get(page_url).data.decode()
    assert f'data-day-form="{day.isoformat()}"' in opened, "clicking a date opens its form"

    saved = admin.post(
        f"/availability/week/{teacher}/day/{day.isoformat()}",
        data=day_form(("1000AM", "12:30 pm"), ("15:00", "4:00 PM")),
    )
    assert saved.status_code == 302, saved.data.decode()[-1500:]
    assert overrides(owner, teacher) == [
        (day, time(10), time(12, 30), ["online"]),
        (day, time(15), time(16), ["online"]),
    ], "typed either way, 12- and 24-hour"
    shown = admin.get(page_url).data.decode()
    assert f'data-day="{day.isoformat()}" data-mark="hours"' in shown, "the date is marked"
    assert 'value="10:00 AM"' in shown and 'value="4:00 PM"' in shown, "prefilled 12-hour"

    closed = admin.post(
        f"/availability/week/{teacher}/day/{day.isoformat()}", data=day_form(not_teaching=True)
    )
    assert closed.status_code == 302
    assert overrides(owner, teacher) == [] and days_off(owner, teacher) == [(day, day)]
    assert f'data-day="{day.isoformat()}" data-mark="away"' in admin.get(page_url).data.decode()

    reopened = admin.post(f"/availability/week/{teacher}/day/{day.isoformat()}", data=day_form())
    assert reopened.status_code == 302 and days_off(owner, teacher) == []


def test_a_refused_date_keeps_what_was_typed_and_says_why(visit, music, yoga, owner, make_students):
    teacher = new_instructor(owner, music, make_students)
    admin = visit("musicschool", GRACE)
    today = clock.now().astimezone(music.zone).date()
    day = (today + timedelta(days=12)).isoformat()
    url = f"/availability/week/{teacher}/day/{day}"

    garbled = admin.post(url, data=day_form(("ten-ish", "12:00")))
    overlap = admin.post(url, data=day_form(("9:00 AM", "12:00"), ("11:00", "1:00 PM")))
    both = admin.post(url, data=day_form(("9:00", "10:00"), not_teaching=True))
    past = admin.post(
        f"/availability/week/{teacher}/day/{today - timedelta(days=1)}", data=day_form(("9", "10"))
    )
    no_date = admin.post(f"/availability/week/{teacher}/day/31-02-2027", data=day_form())
    foreign = admin.post(f"/availability/week/{yoga.people['Iris']}/day/{day}", data=day_form())

    assert garbled.status_code == 422, garbled.status_code
    assert b"give a time like 2:00 PM" in garbled.data and b'value="ten-ish"' in garbled.data
    assert overlap.status_code == 422 and b"overlaps" in overlap.data
    assert b'value="1:00 PM"' in overlap.data, "what was typed comes back"
    assert both.status_code == 422 and "not both" in both.data.decode()
    assert past.status_code == 422 and b"That date has passed" in past.data
    assert (no_date.status_code, foreign.status_code) == (404, 404)
    assert overrides(owner, teacher) == [] and days_off(owner, teacher) == []


def test_an_instructor_sets_a_date_from_the_portal_calendar(visit, music, owner):
    clara = visit("musicschool", CLARA)
    clara_id = music.people["Clara"]
    day = clock.now().astimezone(music.zone).date() + timedelta(days=90)
    before = overrides(owner, clara_id)

    page = clara.get(f"/teaching/schedule/?month={day:%Y-%m}&day={day.isoformat()}").data.decode()
    saved = clara.post(f"/teaching/schedule/day/{day.isoformat()}", data=day_form(("8am", "9am")))

    assert f'data-day-form="{day.isoformat()}"' in page
    assert saved.status_code == 302, saved.data.decode()[-1500:]
    added = [o for o in overrides(owner, clara_id) if o not in before]
    assert added == [(day, time(8), time(9), ["online"])], added
    removed = clara.post(f"/teaching/schedule/day/{day.isoformat()}", data=day_form())
    assert removed.status_code == 302 and overrides(owner, clara_id) == before


def test_a_date_that_no_longer_covers_a_lesson_lists_it_before_saving(
    app, visit, music, owner, free_slots, make_students
):
    (student,) = make_students(music, 1)
    day, (seat,) = lessons_on_one_day(app, music, free_slots, [student], days_ahead=20)
    admin = visit("musicschool", GRACE)
    url = f"/availability/week/{music.people['Clara']}/day/{day.isoformat()}"
    before = overrides(owner, music.people["Clara"])

    # 06:00–07:00 only: the booked lesson that day falls outside.
    hit = admin.post(url, data=day_form(("6am", "7am")))
    kept = admin.post(url, data=day_form(("6am", "7am")) | {f"lesson-{seat}": "keep"})

    assert hit.status_code == 422 and f'data-lesson="{seat}"' in hit.text, "listed first"
    assert 'value="6am"' in hit.text, "what was typed stays while the admin decides"
    assert kept.status_code == 302, kept.text[-1500:]
    added = [o for o in overrides(owner, music.people["Clara"]) if o not in before]
    assert added == [(day, time(6), time(7), ["online"])], added
    owner.execute(
        sa.delete(HoursOverride).where(
            HoursOverride.instructor_id == music.people["Clara"], HoursOverride.day == day
        )
    )
    owner.commit()
