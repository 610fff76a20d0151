"""Busy times from instructors' own calendars: real .ics files (Google's X-WR-TIMEZONE,
Outlook's Windows zone names) served by a local HTTP server, read by the beat task, kept when
a read fails, refused for private addresses, and honoured by the scheduling core."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.calendars.busy import CalendarProblem, busy_intervals, check_address
from app.extensions import db
from app.models import AppointmentType, BusyTime, ExternalCalendar, Membership
from tests.calendars.conftest import PIANO_30, in_school

FIXTURES = Path(__file__).parent / "fixtures"
CLARA = "clara@musicschool.demo"
GRACE = "grace@musicschool.demo"
FLORENCE = "florence@yogastudio.demo"


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- reading .ics files (no network) ------------------------------------------------------------


def test_google_calendar_recurrences_exceptions_all_day_and_free_events():
    body = (FIXTURES / "google.ics").read_bytes()

    busy = busy_intervals(body, "America/New_York", utc(2027, 1, 1), utc(2027, 3, 1))

    assert busy == [
        (utc(2027, 1, 4, 20), utc(2027, 1, 4, 21)),  # Mondays 15:00 New York (X-WR-TIMEZONE)
        (utc(2027, 1, 6, 5), utc(2027, 1, 7, 5)),  # all day, the school's local day
        (utc(2027, 1, 11, 20), utc(2027, 1, 11, 21)),
        # 18 January is an EXDATE; 25 January was moved to 17:00 (RECURRENCE-ID)
        (utc(2027, 1, 25, 22), utc(2027, 1, 25, 23)),
        (utc(2027, 2, 1, 20), utc(2027, 2, 1, 21)),
        (utc(2027, 2, 8, 20), utc(2027, 2, 8, 21)),
    ], "transparent and cancelled events are not busy"


def test_outlook_windows_zone_names_across_daylight_saving():
    body = (FIXTURES / "outlook.ics").read_bytes()

    busy = busy_intervals(body, "America/New_York", utc(2027, 3, 1), utc(2027, 4, 1))

    assert busy == [
        (utc(2027, 3, 10, 20), utc(2027, 3, 10, 21, 30)),  # Eastern Standard Time, EST
        (utc(2027, 3, 11, 11), utc(2027, 3, 11, 12)),  # W. Europe Standard Time = Berlin
        (utc(2027, 3, 17, 19), utc(2027, 3, 17, 20, 30)),  # after the change: EDT
    ]


def test_a_file_that_is_not_a_calendar_is_a_readable_problem():
    with pytest.raises(CalendarProblem, match="iCalendar expected"):
        busy_intervals(b"<html>Sign in</html>", "UTC", utc(2027, 1, 1), utc(2027, 2, 1))


@pytest.mark.parametrize(
    "address", ["file:///etc/passwd", "ftp://example.com/a.ics", "calendar", "", "https://"]
)
def test_only_http_addresses_are_accepted(address):
    with pytest.raises(CalendarProblem):
        check_address(address)


def test_webcal_addresses_are_read_over_https():
    assert check_address(" webcal://p01.icloud.com/x.ics ") == "https://p01.icloud.com/x.ics"


# --- a real HTTP server ------------------------------------------------------------------------


class CalendarServer:
    """Serves one .ics body with an ETag; remembers what each request asked."""

    def __init__(self):
        self.body = b""
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                import time

                server.requests.append(dict(self.headers))
                time.sleep(server.delay)
                etag = f'"{abs(hash(server.body))}"'
                if server.status != 200:
                    self.send_response(server.status)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll: shutdown() waits for the loop to look, every 0.5 s by default.
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def url(self, name: str = "private.ics") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def serve(self, fixture: str) -> None:
        self.body = (FIXTURES / fixture).read_bytes()


@pytest.fixture
def calendar_server(app, monkeypatch):
    server = CalendarServer()
    monkeypatch.setitem(app.config, "EXTERNAL_CALENDAR_ALLOW_PRIVATE", True)
    monkeypatch.setitem(app.config, "EXTERNAL_CALENDAR_TIMEOUT_S", 1.0)
    yield server
    server.httpd.shutdown()


@pytest.fixture
def forget_calendars(app, owner):
    yield
    owner.execute(sa.delete(BusyTime))
    owner.execute(sa.delete(ExternalCalendar))
    owner.commit()


def read_all() -> int:
    from app.calendars.tasks import refresh_external_calendars

    return refresh_external_calendars()  # the beat task, run in this process


def stored(owner, instructor_id: int):
    """(the calendar row's values, its busy intervals) as the database holds them now."""
    owner.expire_all()
    calendar = owner.execute(
        sa.select(
            ExternalCalendar.url,
            ExternalCalendar.etag,
            ExternalCalendar.last_read_at,
            ExternalCalendar.last_error,
        ).where(ExternalCalendar.instructor_id == instructor_id)
    ).one_or_none()
    rows = owner.execute(
        sa.select(BusyTime.starts_at, BusyTime.ends_at)
        .where(BusyTime.instructor_id == instructor_id)
        .order_by(BusyTime.starts_at)
    ).all()
    return calendar, [tuple(r) for r in rows]


def test_instructor_pastes_an_address_and_the_beat_task_reads_it_conditionally(
    visit, music, calendar_server, owner, forget_calendars, clock
):
    clock.set(utc(2026, 12, 1, 12))
    calendar_server.serve("google.ics")
    clara = visit("musicschool", CLARA)

    saved = clara.post("/teaching/busy", data={"url": calendar_server.url()})
    read_all()
    first_read, busy = stored(owner, music.people["Clara"])
    clock.advance(timedelta(minutes=15))
    read_all()
    second_read, busy_again = stored(owner, music.people["Clara"])
    page = clara.get("/teaching/busy").data.decode()

    assert saved.status_code == 302
    assert (utc(2027, 1, 4, 20), utc(2027, 1, 4, 21)) in busy and len(busy) == 6
    assert first_read.last_read_at == utc(2026, 12, 1, 12) and first_read.last_error is None
    assert calendar_server.requests[-1].get("If-None-Match") == first_read.etag
    assert busy_again == busy, "304: nothing re-read, nothing lost"
    assert second_read.last_read_at == utc(2026, 12, 1, 12, 15)
    assert "Tue 01 Dec 2026, 7:15 AM EST" in page and "data-busy-count>6<" in page


def test_a_failed_read_keeps_the_busy_times_and_says_why(
    visit, music, calendar_server, owner, forget_calendars, clock
):
    clock.set(utc(2026, 12, 1, 12))
    calendar_server.serve("google.ics")
    clara = visit("musicschool", CLARA)
    clara.post("/teaching/busy", data={"url": calendar_server.url()})
    read_all()
    _, before = stored(owner, music.people["Clara"])

    calendar_server.status = 500
    clock.advance(timedelta(hours=1))
    read_all()
    broken, after_error = stored(owner, music.people["Clara"])
    calendar_server.status, calendar_server.delay = 200, 2.0  # slower than the 1 s timeout
    read_all()
    slow, after_timeout = stored(owner, music.people["Clara"])
    page = clara.get("/teaching/busy").data.decode()

    assert after_error == before == after_timeout and len(before) == 6
    assert broken.last_error == "The calendar's server answered HTTP 500."
    assert broken.last_read_at == utc(2026, 12, 1, 12), "last successful read"
    assert slow.last_error == "The calendar's server did not answer in time."
    assert "did not answer in time" in page and "busy times read before are kept" in page


def test_a_calendar_too_large_is_refused(
    app, visit, music, calendar_server, owner, forget_calendars, monkeypatch
):
    monkeypatch.setitem(app.config, "EXTERNAL_CALENDAR_MAX_BYTES", 1000)
    calendar_server.serve("google.ics")
    visit("musicschool", CLARA).post("/teaching/busy", data={"url": calendar_server.url()})

    read_all()

    calendar, busy = stored(owner, music.people["Clara"])
    assert calendar.last_error.startswith("The calendar is larger than") and busy == []


def test_private_addresses_are_never_fetched_in_production(
    app, visit, music, calendar_server, owner, forget_calendars, monkeypatch
):
    monkeypatch.setitem(app.config, "EXTERNAL_CALENDAR_ALLOW_PRIVATE", False)
    calendar_server.serve("google.ics")
    clara = visit("musicschool", CLARA)
    for address in (calendar_server.url(), "http://localhost:6379/", "http://10.0.0.8/c.ics"):
        clara.post("/teaching/busy", data={"url": address})
        read_all()
        calendar, busy = stored(owner, music.people["Clara"])
        assert "private network" in calendar.last_error, calendar.last_error
        assert busy == []
    assert calendar_server.requests == [], "the loopback server was never asked"


def test_a_name_that_resolves_public_but_connects_private_is_refused(
    app, calendar_server, monkeypatch
):
    """DNS rebinding: the name checked out as public, the connection went to loopback."""
    from app.calendars import busy

    monkeypatch.setitem(app.config, "EXTERNAL_CALENDAR_ALLOW_PRIVATE", False)
    monkeypatch.setattr(busy, "_check_host", lambda host, port, allow_private: None)
    calendar_server.serve("google.ics")

    with app.app_context(), pytest.raises(CalendarProblem, match="private network"):
        busy.fetch(calendar_server.url())
    assert len(calendar_server.requests) <= 1, "nothing read from it"


def test_bad_addresses_answer_400_and_write_nothing(visit, owner, forget_calendars):
    clara = visit("musicschool", CLARA)
    response = clara.post("/teaching/busy", data={"url": "file:///etc/passwd"})
    assert response.status_code == 400 and "https://" in response.data.decode()
    assert owner.scalar(sa.select(sa.func.count()).select_from(ExternalCalendar)) == 0


def test_admin_sets_an_instructors_calendar_but_not_another_schools(
    visit, music, yoga, calendar_server, owner, forget_calendars
):
    grace = visit("musicschool", GRACE)
    florence = visit("yogastudio", FLORENCE)
    clara_id = music.people["Clara"]

    mine = grace.post(f"/calendar/instructors/{clara_id}/busy", data={"url": calendar_server.url()})
    other_school = florence.post(
        f"/calendar/instructors/{clara_id}/busy", data={"url": "https://evil.example/x.ics"}
    )
    other_page = florence.get(f"/calendar/instructors/{clara_id}/busy")
    student = visit("musicschool", "ada@musicschool.demo").get("/teaching/busy")

    assert mine.status_code == 302
    assert other_school.status_code == other_page.status_code == 404
    assert student.status_code == 403
    calendar, _ = stored(owner, clara_id)
    assert calendar.url == calendar_server.url()


def test_busy_times_block_bookings_like_time_off(app, music, free_slots, owner, forget_calendars):
    from app.booking import service

    slots = free_slots(music, PIANO_30, days_ahead=10, instructor="Clara", mode="online")
    target = slots[0]
    with in_school(app, music):
        calendar = ExternalCalendar(
            organization_id=music.id, instructor_id=music.people["Clara"], url="https://x.test/c"
        )
        db.session.add(calendar)
        db.session.flush()
        db.session.add(
            BusyTime(
                organization_id=music.id,
                instructor_id=music.people["Clara"],
                calendar_id=calendar.id,
                starts_at=target.start,
                ends_at=target.start + timedelta(minutes=10),
            )
        )
        db.session.commit()

    after = free_slots(music, PIANO_30, days_ahead=10, instructor="Clara", mode="online")

    assert target.start not in {s.start for s in after}
    later = {s.start for s in slots if s.start >= target.start + timedelta(hours=1)}
    assert later <= {s.start for s in after}, "only the busy stretch is taken away"
    with in_school(app, music):
        ada = db.session.get(Membership, music.people["Ada"])
        kind = db.session.get(AppointmentType, music.types[PIANO_30])
        with pytest.raises(service.BookingProblem):
            service.book_lesson(
                service.LessonChoice(kind.id, target.start, "online", music.people["Clara"], None),
                student=ada,
                actor=ada,
                notify=False,
            )


def test_the_instructor_week_hatches_busy_hours(app, visit, music, owner, forget_calendars):
    from app.clock import now

    day = music.local(now()).date() + timedelta(days=7)
    day -= timedelta(days=day.weekday())  # a Monday
    starts = datetime.combine(day, datetime.min.time(), music.zone).replace(hour=15)
    with in_school(app, music):
        calendar = ExternalCalendar(
            organization_id=music.id, instructor_id=music.people["Clara"], url="https://x.test/c"
        )
        db.session.add(calendar)
        db.session.flush()
        db.session.add(
            BusyTime(
                organization_id=music.id,
                instructor_id=music.people["Clara"],
                calendar_id=calendar.id,
                starts_at=starts.astimezone(UTC),
                ends_at=(starts + timedelta(minutes=90)).astimezone(UTC),
            )
        )
        db.session.commit()

    page = visit("musicschool", CLARA).get(f"/teaching/week?week={day}").data.decode()

    busy_cells = re.findall(rf'data-day="{day}" data-hour="(\d+)"[^>]*data-busy', page)
    assert busy_cells == ["15", "16"], busy_cells
    assert "Busy in your own calendar 3:00 PM–4:30 PM" in page


# --- a real Celery worker ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def calendar_worker(app, database_url: str, redis_url: str):
    """A real ``celery -A celery_worker worker`` (solo pool) that may read loopback addresses,
    started for this module only."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "EXTERNAL_CALENDAR_ALLOW_PRIVATE": "1",
    }
    env.pop("APP_DATABASE_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "celery_worker",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"calendar-tests-{os.getpid()}@%h",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line.rstrip())
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        process.kill()
        pytest.fail("the Celery worker did not start:\n" + "\n".join(lines[-20:]))
    yield lines
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.worker
def test_saving_an_address_has_a_real_worker_read_it(
    visit, music, calendar_server, owner, forget_calendars, calendar_worker, clock
):
    import time

    # Made for this run's instant: a weekly hour from tomorrow, 10:00 UTC.
    tomorrow = (clock.now() + timedelta(days=1)).replace(hour=10, minute=0, second=0)
    stamp = tomorrow.strftime("%Y%m%dT%H%M%SZ")
    calendar_server.body = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//test//EN",
            "BEGIN:VEVENT",
            "UID:weekly@test",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{stamp}",
            f"DTEND:{(tomorrow + timedelta(hours=1)).strftime('%Y%m%dT%H%M%SZ')}",
            "RRULE:FREQ=WEEKLY;COUNT=3",
            "SUMMARY:Choir rehearsal",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    ).encode()

    saved = visit("musicschool", CLARA).post("/teaching/busy", data={"url": calendar_server.url()})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        calendar, busy = stored(owner, music.people["Clara"])
        if calendar is not None and calendar.last_read_at is not None:
            break
        time.sleep(0.2)

    assert saved.status_code == 302
    assert calendar.last_read_at is not None, "\n".join(calendar_worker[-20:])
    assert busy == [
        (tomorrow + timedelta(weeks=n), tomorrow + timedelta(weeks=n, hours=1)) for n in range(3)
    ]
