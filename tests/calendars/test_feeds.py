"""iCal feeds over HTTP: secret URLs, what each feed holds (parsed back with ``icalendar``),
rotation, other schools' tokens and ids, and conditional requests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CalendarFeed, Membership
from tests.calendars.conftest import FAR, PIANO_30, in_school

CLARA = "clara@musicschool.demo"
ADA = "ada@musicschool.demo"
GRACE = "grace@musicschool.demo"
FLORENCE = "florence@yogastudio.demo"


def feed_urls(visitor) -> dict[str, list[str]]:
    """The subscribe page's feed addresses by kind, as the person sees them."""
    page = visitor.get("/calendar/subscribe")
    assert page.status_code == 200, page.status_code
    html = page.data.decode()
    found: dict[str, list[str]] = {}
    for kind, body in re.findall(r'data-feed="(\w+)"(.*?)</section>', html, re.S):
        url = re.search(r'value="([^"]+)" data-feed-url', body).group(1)
        webcal = re.search(r'href="(webcal://[^"]+)" data-subscribe', body).group(1)
        assert webcal == "webcal://" + url.split("://", 1)[1]
        found.setdefault(kind, []).append(url)
    return found


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def fetch(visit, school: str, url: str, **headers):
    return visit(school).get(path_of(url), headers=headers)


def events_by_uid(response) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(response.data)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def uid(school, booking_id: int) -> str:
    return f"booking-{school.id}-{booking_id}@coursecove"


def test_instructor_feed_holds_their_lessons_with_every_field(visit, music, book):
    _, mine = book(music, instructor="Clara", notes="Scales in G")
    _, other = book(music, instructor="Scott", student="Alan")
    url = feed_urls(visit("musicschool", CLARA))["instructor"][0]

    response = fetch(visit, "musicschool", url)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    calendar = icalendar.Calendar.from_ical(response.data)
    assert calendar["METHOD"] == "PUBLISH" and calendar["VERSION"] == "2.0"
    assert calendar["X-WR-CALNAME"] == "Riverside Music School: Clara Schumann"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    events = events_by_uid(response)
    assert uid(music, other) not in events, "another instructor's lesson is not in Clara's feed"
    event = events[uid(music, mine)]
    assert str(event["SUMMARY"]) == f"{PIANO_30}: Ada Lovelace"
    assert "Scales in G" in str(event["DESCRIPTION"])
    assert f"/teaching/lessons/{mine}" in str(event["DESCRIPTION"])
    with in_school(visit("musicschool").app, music):
        from app.models import Booking

        booking = db.session.get(Booking, mine)
        assert event.decoded("DTSTART") == booking.starts_at
        assert event.decoded("DTEND") == booking.ends_at
    assert len(re.findall(rb"UID:booking-", response.data)) == len(events), "one event each"


def test_reschedule_and_cancel_show_in_the_feed_same_uid_higher_sequence(
    app, visit, music, book, free_slots, clock
):
    from app.booking import service

    attendee_id, booking_id = book(music)
    url = feed_urls(visit("musicschool", CLARA))["instructor"][0]
    first = events_by_uid(fetch(visit, "musicschool", url))[uid(music, booking_id)]
    later = free_slots(music, PIANO_30, days_ahead=FAR + 3, instructor="Clara", mode="online")[2]

    with in_school(app, music):
        ada = db.session.get(Membership, music.people["Ada"])
        service.reschedule_booking(attendee_id, actor=ada, new_start=later.start)
    moved = events_by_uid(fetch(visit, "musicschool", url))[uid(music, booking_id)]
    with in_school(app, music):
        ada = db.session.get(Membership, music.people["Ada"])
        service.cancel_booking(attendee_id, actor=ada)
    cancelled = events_by_uid(fetch(visit, "musicschool", url))[uid(music, booking_id)]
    clock.advance(timedelta(days=31))
    gone = events_by_uid(fetch(visit, "musicschool", url))

    assert moved.decoded("DTSTART") == later.start != first.decoded("DTSTART")
    assert int(first["SEQUENCE"]) < int(moved["SEQUENCE"]) < int(cancelled["SEQUENCE"])
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert uid(music, booking_id) not in gone, "cancelled bookings leave the feed after 30 days"


def test_times_are_exact_across_a_daylight_saving_change(app, visit, music, book, clock):
    # A week before New York's spring change (14 March 2027): same local hour, one UTC hour apart.
    clock.set(datetime(2027, 3, 5, 17, 0, tzinfo=UTC))
    _, before = book(music, days_ahead=3)  # Monday 8 March, EST
    _, after = book(music, days_ahead=10)  # Monday 15 March, EDT
    url = feed_urls(visit("musicschool", CLARA))["instructor"][0]
    events = events_by_uid(fetch(visit, "musicschool", url))

    start_before = events[uid(music, before)].decoded("DTSTART")
    start_after = events[uid(music, after)].decoded("DTSTART")
    assert music.local(start_before).hour == music.local(start_after).hour == 14
    assert (start_before.utcoffset(), start_before.hour) == (timedelta(0), 19)
    assert (start_after.utcoffset(), start_after.hour) == (timedelta(0), 18)
    assert b"DTSTART:20270308T190000Z" in fetch(visit, "musicschool", url).data


def test_student_feed_holds_only_their_own_lessons(visit, music, book):
    assert "/calendar/subscribe" in visit("musicschool", ADA).get("/bookings/").data.decode()
    _, ada_lesson = book(music, student="Ada")
    _, alan_lesson = book(music, student="Alan", slot_index=3)
    url = feed_urls(visit("musicschool", ADA))["student"][0]

    events = events_by_uid(fetch(visit, "musicschool", url))

    assert uid(music, ada_lesson) in events and uid(music, alan_lesson) not in events
    event = events[uid(music, ada_lesson)]
    assert str(event["SUMMARY"]) == f"{PIANO_30} with Clara Schumann"
    assert re.search(r"/bookings/\d+", str(event["DESCRIPTION"]))


def test_admin_has_school_location_and_instructor_feeds(app, visit, music, book):
    from app.models import Location, MembershipRole

    with in_school(app, music):  # other tests may have added people and places
        instructors = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .where(Membership.role == MembershipRole.INSTRUCTOR, Membership.active)
        )
        locations = db.session.scalar(sa.select(sa.func.count()).select_from(Location))
    _, online = book(music)
    _, in_person = book(music, mode="in_person", slot_index=4, student="Alan")
    urls = feed_urls(visit("musicschool", GRACE))

    school = events_by_uid(fetch(visit, "musicschool", urls["school"][0]))
    by_location = [events_by_uid(fetch(visit, "musicschool", u)) for u in urls["location"]]

    assert uid(music, online) in school and uid(music, in_person) in school
    assert sum(uid(music, in_person) in events for events in by_location) == 1
    assert not any(uid(music, online) in events for events in by_location)
    assert (len(urls["instructor"]), len(urls["location"])) == (instructors, locations)


def test_rotating_makes_the_old_address_404_at_once(app, visit, music):
    clara = visit("musicschool", CLARA)
    old = feed_urls(clara)["instructor"][0]
    with in_school(app, music):
        feed_id = db.session.scalar(
            sa.select(CalendarFeed.id).where(
                CalendarFeed.membership_id == music.people["Clara"],
                CalendarFeed.kind == "instructor",
            )
        )

    rotated = clara.post(f"/calendar/subscribe/{feed_id}/rotate")
    new = feed_urls(clara)["instructor"][0]

    assert rotated.status_code == 302
    assert new != old
    assert fetch(visit, "musicschool", old).status_code == 404
    assert fetch(visit, "musicschool", new).status_code == 200


def test_nobody_rotates_a_feed_that_is_not_theirs(app, visit, music, yoga):
    feed_urls(visit("musicschool", GRACE))
    feed_urls(visit("yogastudio", FLORENCE))
    with in_school(app, music):
        school_feed = db.session.scalar(
            sa.select(CalendarFeed).where(CalendarFeed.kind == "school")
        )
        school_feed_id, school_hash = school_feed.id, school_feed.token_hash
    with in_school(app, yoga):
        yoga_feed_id = db.session.scalar(
            sa.select(CalendarFeed.id).where(CalendarFeed.kind == "school")
        )

    by_student = visit("musicschool", ADA).post(f"/calendar/subscribe/{school_feed_id}/rotate")
    by_other_school = visit("musicschool", GRACE).post(f"/calendar/subscribe/{yoga_feed_id}/rotate")
    anonymous = visit("musicschool").post(f"/calendar/subscribe/{school_feed_id}/rotate")

    assert by_student.status_code == 404
    assert by_other_school.status_code == 404
    assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"]
    with in_school(app, music):
        assert db.session.get(CalendarFeed, school_feed_id).token_hash == school_hash


def test_unknown_and_other_schools_tokens_are_the_same_plain_404(visit, music):
    url = feed_urls(visit("musicschool", CLARA))["instructor"][0]
    token = path_of(url).rsplit("/", 1)[1].removesuffix(".ics")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    answers = [
        visit("yogastudio").get(f"/calendar/feeds/{token}.ics"),  # real token, other school
        visit("musicschool").get(f"/calendar/feeds/{forged}.ics"),  # wrong token, right school
        visit("nosuchschool").get(f"/calendar/feeds/{token}.ics"),  # no such school
        visit("musicschool").get("/calendar/feeds/short.ics"),
    ]

    assert fetch(visit, "musicschool", url).status_code == 200
    for answer in answers:
        assert answer.status_code == 404
        assert answer.data == answers[0].data == b"Not found\n"
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_conditional_requests_answer_304_until_something_changes(app, visit, music, book):
    url = feed_urls(visit("musicschool", CLARA))["instructor"][0]
    full = fetch(visit, "musicschool", url)
    etag, modified = full.headers["ETag"], full.headers["Last-Modified"]

    by_etag = fetch(visit, "musicschool", url, **{"If-None-Match": etag})
    by_weak_etag = fetch(visit, "musicschool", url, **{"If-None-Match": "W/" + etag})
    by_date = fetch(visit, "musicschool", url, **{"If-Modified-Since": modified})
    stale_etag = fetch(
        visit, "musicschool", url, **{"If-None-Match": '"other"', "If-Modified-Since": modified}
    )
    book(music)
    after_change = fetch(visit, "musicschool", url, **{"If-None-Match": etag})

    assert by_etag.status_code == by_weak_etag.status_code == by_date.status_code == 304
    assert by_etag.data == b"" and by_etag.headers["ETag"] == etag
    assert by_etag.headers["Cache-Control"] == "private, max-age=3600"
    assert stale_etag.status_code == 200, "If-None-Match wins over If-Modified-Since"
    assert after_change.status_code == 200 and after_change.headers["ETag"] != etag


def test_teaching_calendar_ics_leads_the_instructor_to_their_feed(visit):
    signed_in = visit("musicschool", CLARA).get("/teaching/calendar.ics")
    anonymous = visit("musicschool").get("/teaching/calendar.ics")

    assert signed_in.status_code == 302
    assert signed_in.headers["Location"].endswith("/calendar/subscribe")
    assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"]


@pytest.mark.parametrize("email", [CLARA, ADA, GRACE])
def test_subscribe_page_states_the_school_zone_and_offers_copy(visit, email):
    page = visit("musicschool", email).get("/calendar/subscribe").data.decode()
    assert "America/New_York" in page and "data-copy" in page and "webcal://" in page
