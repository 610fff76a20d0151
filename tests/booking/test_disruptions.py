"""Time off, closures and hours that hit booked lessons (app/booking/disruptions.py): the
admin panels and the teaching portal list the lessons, a decision per lesson, all or nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import (
    AppointmentType,
    Booking,
    BookingAttendee,
    BookingChange,
    Membership,
    SchoolClosure,
    TimeOff,
    User,
)
from tests.booking.conftest import in_school
from tests.conftest import body

GRACE = "grace@musicschool.demo"
CLARA = "clara@musicschool.demo"
PIANO_30 = "Piano lesson (30 min)"


def book(app, school, student_email: str, start, instructor: str = "Clara") -> int:
    """Book a lesson through the real service (on the student's behalf); its seat id."""
    from app.booking import service

    with in_school(app, school):
        student = db.session.scalar(
            sa.select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == school.id, User.email == student_email)
        )
        admin = db.session.scalar(
            sa.select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == school.id, User.email == GRACE)
        )
        attendee = service.book_lesson(
            service.LessonChoice(
                school.types[PIANO_30], start, "online", school.people[instructor]
            ),
            student=student,
            actor=admin,
            notify=False,
        )
        return attendee.id


def lessons_on_one_day(app, school, free_slots, students: list[str], days_ahead: int = 12):
    """Book one lesson per student with Clara on one local day (found by the real core)."""
    offered = free_slots(
        school, PIANO_30, days_ahead=days_ahead, days=14, instructor="Clara", mode="online"
    )
    by_day: dict = {}
    for slot in offered:
        by_day.setdefault(school.local(slot.start).date(), []).append(slot.start)
    for day, starts in sorted(by_day.items()):
        chosen = []
        for start in starts:
            if all(abs(start - other) >= timedelta(minutes=60) for other in chosen):
                chosen.append(start)
        if len(chosen) >= len(students):
            ids = [book(app, school, s, start) for s, start in zip(students, chosen, strict=False)]
            return day, ids
    raise AssertionError("no day with enough free times for Clara")


def time_off_form(school, day, **decisions) -> dict:
    return {
        "instructor": str(school.people["Clara"]),
        "first_day": day.isoformat(),
        "last_day": day.isoformat(),
        "reason": "Ill",
        **decisions,
    }


def move_options(page: bytes, attendee_id: int) -> list[str]:
    select = re.search(rf'name="lesson-{attendee_id}".*?</select>', page.decode(), re.S).group(0)
    return re.findall(r'value="(move:[^"]+)"', select)


def seat(owner, attendee_id: int) -> BookingAttendee:
    owner.expire_all()
    return owner.get(BookingAttendee, attendee_id)


def time_off_count(owner, school) -> int:
    return owner.scalar(
        sa.select(sa.func.count(TimeOff.id)).where(TimeOff.organization_id == school.id)
    )


def test_time_off_over_lessons_lists_them_and_saves_with_the_choices(
    app, visit, music, free_slots, owner, make_students, mailbox
):
    students = make_students(music, 3, prefix="hit")
    day, (cancelled, moved, kept) = lessons_on_one_day(app, music, free_slots, students)
    before = time_off_count(owner, music)
    admin = visit("musicschool", GRACE)

    first = admin.post("/timeoffview/add", data=time_off_form(music, day))

    assert first.status_code == 422, "the form comes back with the lessons it hits"
    page = first.data.decode()
    assert "3 booked lessons hit by this change" in page
    for attendee_id in (cancelled, moved, kept):
        assert f'data-lesson="{attendee_id}"' in page
    assert "The instructor is away at that time." in page
    assert f'value="{day.isoformat()}"' in page, "with what was typed"
    assert time_off_count(owner, music) == before, "nothing saved yet"
    target = move_options(first.data, moved)[0]

    saved = admin.post(
        "/timeoffview/add",
        data=time_off_form(
            music,
            day,
            **{
                f"lesson-{cancelled}": "cancel",
                f"lesson-{moved}": target,
                f"lesson-{kept}": "keep",
                "lessons-message": "Clara is ill; we are sorry.",
            },
        ),
    )

    assert saved.status_code == 302, saved.data[-1500:]
    assert time_off_count(owner, music) == before + 1
    gone, went, stayed = seat(owner, cancelled), seat(owner, moved), seat(owner, kept)
    assert gone.status == "cancelled" and gone.cancellation_reason == "Clara is ill; we are sorry."
    assert went.status == "confirmed"
    assert owner.get(Booking, went.booking_id).starts_at.isoformat() == target[len("move:") :]
    assert stayed.status == "confirmed"
    assert owner.scalar(
        sa.select(BookingChange.details)
        .where(BookingChange.attendee_id == kept)
        .order_by(BookingChange.id.desc())
        .limit(1)
    ).startswith("Kept on purpose")
    mailbox.wait_for(4)
    to_cancelled = mailbox.to(students[0])
    assert to_cancelled and "Clara is ill; we are sorry." in body(to_cancelled[0])
    assert any("moved" in m["Subject"] for m in mailbox.to(students[1]))
    assert not mailbox.to(students[2]), "a kept lesson sends nothing"


def test_a_missing_choice_or_another_schools_lesson_saves_nothing(
    app, visit, music, yoga, free_slots, owner, make_students
):
    students = make_students(music, 2, prefix="hit")
    day, (one, two) = lessons_on_one_day(app, music, free_slots, students)
    yoga_seat = owner.scalar(
        sa.select(BookingAttendee.id).where(BookingAttendee.organization_id == yoga.id).limit(1)
    )
    before = time_off_count(owner, music)
    admin = visit("musicschool", GRACE)

    partial = admin.post(
        "/timeoffview/add", data=time_off_form(music, day, **{f"lesson-{one}": "cancel"})
    )
    foreign = admin.post(
        "/timeoffview/add",
        data=time_off_form(
            music,
            day,
            **{
                f"lesson-{one}": "cancel",
                f"lesson-{two}": "keep",
                f"lesson-{yoga_seat or 999999}": "cancel",
            },
        ),
    )
    unreadable = admin.post(
        "/timeoffview/add",
        data=time_off_form(
            music, day, **{f"lesson-{one}": "move:tomorrow", f"lesson-{two}": "keep"}
        ),
    )

    assert partial.status_code == 422 and b"still needs a choice" in partial.data
    assert b'<option value="cancel" selected' in partial.data, "the choice made is kept"
    assert foreign.status_code == 422 and b"not affected by this change" in foreign.data
    assert unreadable.status_code == 422 and b"could not be read" in unreadable.data
    assert time_off_count(owner, music) == before
    assert seat(owner, one).status == "confirmed" and seat(owner, two).status == "confirmed"


def test_a_move_that_lost_a_race_saves_nothing(app, visit, music, free_slots, owner, make_students):
    students = make_students(music, 3, prefix="hit")
    day, (first, second) = lessons_on_one_day(app, music, free_slots, students[:2])
    admin = visit("musicschool", GRACE)
    before = time_off_count(owner, music)
    listed = admin.post("/timeoffview/add", data=time_off_form(music, day))
    target = move_options(listed.data, second)[0]
    # Someone books that very time before the admin saves.
    book(app, music, students[2], clock.now().fromisoformat(target[len("move:") :]))

    saved = admin.post(
        "/timeoffview/add",
        data=time_off_form(music, day, **{f"lesson-{first}": "cancel", f"lesson-{second}": target}),
    )

    assert saved.status_code == 422
    assert b"Nothing was saved" in saved.data
    assert time_off_count(owner, music) == before
    assert seat(owner, first).status == "confirmed", "the cancellation was rolled back too"


def test_a_closure_with_no_lessons_on_it_saves_at_once(visit, music, owner):
    day = clock.now().astimezone(music.zone).date() + timedelta(days=300)
    admin = visit("musicschool", GRACE)

    saved = admin.post(
        "/schoolclosureview/add",
        data={
            "name": "Far away holiday",
            "first_day": day.isoformat(),
            "last_day": day.isoformat(),
        },
    )

    assert saved.status_code == 302
    assert owner.scalar(sa.select(SchoolClosure.id).where(SchoolClosure.name == "Far away holiday"))


def test_closure_and_removed_hours_over_a_lesson(
    app, visit, music, free_slots, owner, make_students
):
    students = make_students(music, 1, prefix="hit")
    day, (lesson,) = lessons_on_one_day(app, music, free_slots, students)
    admin = visit("musicschool", GRACE)

    closure = admin.post(
        "/schoolclosureview/add",
        data={"name": "Snow day", "first_day": day.isoformat(), "last_day": day.isoformat()},
    )
    weekday_hours = owner.scalars(
        sa.text("SELECT id FROM working_hours WHERE instructor_id = :i AND weekday = :w"),
        {"i": music.people["Clara"], "w": day.weekday()},
    ).all()
    removed = [admin.post(f"/workinghoursview/delete/{pk}") for pk in weekday_hours]

    assert closure.status_code == 422 and f'data-lesson="{lesson}"'.encode() in closure.data
    assert b"The school is closed at that time." in closure.data
    refused = [r for r in removed if r.status_code == 302]
    assert any(b"cover booked lessons" in admin.get(r.headers["Location"]).data for r in refused)
    owner.expire_all()
    assert (
        owner.scalar(
            sa.text("SELECT count(*) FROM working_hours WHERE instructor_id = :i AND weekday = :w"),
            {"i": music.people["Clara"], "w": day.weekday()},
        )
        >= 1
    ), "the hours that cover the lesson are still there"


def test_instructor_decides_for_their_own_time_off_in_the_portal(
    app, visit, music, free_slots, owner, make_students, mailbox
):
    students = make_students(music, 1, prefix="hit")
    day, (lesson,) = lessons_on_one_day(app, music, free_slots, students)
    clara = visit("musicschool", CLARA)
    form = {"first_day": day.isoformat(), "last_day": day.isoformat(), "reason": "Concert"}

    listed = clara.post("/teaching/schedule/time-off", data=form)
    saved = clara.post(
        "/teaching/schedule/time-off",
        data={**form, f"lesson-{lesson}": "cancel", "lessons-message": "I have a concert."},
    )

    assert listed.status_code == 422 and f'data-lesson="{lesson}"'.encode() in listed.data
    assert saved.status_code == 302, saved.data[-1500:]
    assert seat(owner, lesson).status == "cancelled"
    assert (
        owner.scalar(
            sa.select(sa.func.count(TimeOff.id)).where(
                TimeOff.instructor_id == music.people["Clara"], TimeOff.first_day == day
            )
        )
        == 1
    )
    mailbox.wait_for(1)
    assert "I have a concert." in body(mailbox.to(students[0])[0])


def test_hit_detection_ignores_lessons_the_change_does_not_touch(
    app, music, free_slots, make_students
):
    """Time off on another day, or another instructor's, hits nothing."""
    from app.booking import disruptions

    students = make_students(music, 1, prefix="hit")
    day, _ = lessons_on_one_day(app, music, free_slots, students)
    with in_school(app, music):
        clara = db.session.get(Membership, music.people["Clara"])
        other_day = TimeOff(
            instructor_id=clara.id,
            first_day=day + timedelta(days=1),
            last_day=day + timedelta(days=1),
        )
        other_day.instructor = clara
        nadia = db.session.get(Membership, music.people["Nadia"])
        someone_else = TimeOff(instructor_id=nadia.id, first_day=day, last_day=day)
        assert disruptions.preview(other_day, actor=clara) == []
        assert disruptions.preview(someone_else, actor=clara) == []
        assert db.session.get(AppointmentType, music.types[PIANO_30]) is not None


def test_bulk_delete_of_hours_over_a_lesson_is_refused(
    app, visit, music, free_slots, owner, make_students
):
    students = make_students(music, 1, prefix="hit")
    day, _ = lessons_on_one_day(app, music, free_slots, students)
    clara_hours = owner.scalars(
        sa.text("SELECT id FROM working_hours WHERE instructor_id = :i"),
        {"i": music.people["Clara"]},
    ).all()
    admin = visit("musicschool", GRACE)

    response = admin.post(
        "/workinghoursview/action_post",
        data={"action": "muldelete", "rowid": [str(pk) for pk in clara_hours]},
    )

    assert response.status_code == 302
    assert b"cover booked lessons" in admin.get(response.headers["Location"]).data
    owner.expire_all()
    assert (
        owner.scalars(
            sa.text("SELECT id FROM working_hours WHERE instructor_id = :i"),
            {"i": music.people["Clara"]},
        ).all()
        == clara_hours
    )
