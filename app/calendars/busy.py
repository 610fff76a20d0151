"""Busy times from an instructor's own calendar (a secret iCal address they paste in).

A Celery beat task (``calendars.refresh_external_calendars``) reads every such address:

1. ``fetch``: a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the last
   read), with a timeout and a size limit, following at most three redirects. Only
   ``http(s)``; in production every address the host resolves to (and the address actually
   connected to) must be public: never loopback, private, link-local or reserved ranges, so
   the server cannot be used to read its own network. Tests set
   ``EXTERNAL_CALENDAR_ALLOW_PRIVATE`` to read from a local server.
2. ``busy_intervals``: parse with ``icalendar``, repair Google's ``X-WR-TIMEZONE`` calendars
   (``x-wr-timezone``), expand ``RRULE`` / ``EXDATE`` / ``RECURRENCE-ID`` with
   ``recurring-ical-events`` over the booking horizon; all-day and floating times are the
   school's local time; ``TRANSP:TRANSPARENT`` and ``STATUS:CANCELLED`` events are ignored.
   Outlook's Windows zone names ("W. Europe Standard Time") are understood by ``icalendar``.
3. ``refresh_calendar``: on success the instructor's busy times are replaced in one
   transaction; on failure they are kept and the error is recorded for the instructor to see.
   A calendar that cannot be read never silently frees the instructor.

The scheduling core treats busy times like time off (``app.booking.schedule_data``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import requests
import sqlalchemy as sa
import x_wr_timezone
from flask import current_app

from app import clock
from app.extensions import db
from app.models import BusyTime, ExternalCalendar, Membership, MembershipRole, Organization

log = logging.getLogger(__name__)

HORIZON_DAYS = 400  # the longest advance booking window, and some
MAX_REDIRECTS = 3
MAX_EVENTS = 20_000
USER_AGENT = "CourseCove calendar reader (+https://coursecove.com)"


class CalendarProblem(Exception):
    """Why a calendar address could not be saved or read, in words for the instructor."""


# --- saving the address ------------------------------------------------------------------------


def check_address(url: str) -> str:
    """The address as it will be stored, or ``CalendarProblem``. Does not fetch it."""
    url = (url or "").strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CalendarProblem(
            "Paste the calendar's secret address: it starts with https:// (or webcal://)."
        )
    if len(url) > 2000:
        raise CalendarProblem("That address is too long to be a calendar's address.")
    return url


def instructor_of(member: Membership, instructor_id: int | None = None) -> Membership:
    """Whose calendar: the instructor themself, or any instructor of the school for an admin."""
    if member.role == MembershipRole.INSTRUCTOR and instructor_id in (None, member.id):
        return member
    if member.role == MembershipRole.ADMIN and instructor_id is not None:
        found = db.session.scalar(
            sa.select(Membership).where(
                Membership.organization_id == member.organization_id,
                Membership.id == instructor_id,
                Membership.role == MembershipRole.INSTRUCTOR,
            )
        )
        if found is not None:
            return found
    raise LookupError(instructor_id)


def calendar_of(instructor: Membership) -> ExternalCalendar | None:
    return db.session.scalar(
        sa.select(ExternalCalendar).where(
            ExternalCalendar.organization_id == instructor.organization_id,
            ExternalCalendar.instructor_id == instructor.id,
        )
    )


def save_address(instructor: Membership, url: str) -> ExternalCalendar:
    """Store (or replace) the instructor's calendar address; it is read soon after."""
    url = check_address(url)
    calendar = calendar_of(instructor)
    if calendar is None:
        calendar = ExternalCalendar(
            organization_id=instructor.organization_id, instructor_id=instructor.id, url=url
        )
        db.session.add(calendar)
    elif calendar.url != url:
        calendar.url = url
        calendar.etag = calendar.last_modified = None
    db.session.commit()
    return calendar


def remove_address(instructor: Membership) -> None:
    """Forget the address and the busy times read from it."""
    calendar = calendar_of(instructor)
    if calendar is not None:
        db.session.execute(sa.delete(BusyTime).where(BusyTime.calendar_id == calendar.id))
        db.session.delete(calendar)
        db.session.commit()


# --- fetching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    changed: bool
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def _check_host(host: str, port: int, allow_private: bool) -> None:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except OSError as error:
        raise CalendarProblem(f"The calendar's server ({host}) could not be found.") from error
    if not allow_private:
        for address in addresses:
            _check_public(address, host)


def _check_public(address: str, host: str) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global or ip.is_multicast:
        raise CalendarProblem(
            f"The calendar's address ({host}) points into a private network; "
            "only calendars on the public internet can be read."
        )


def _peer_address(response: requests.Response) -> str | None:
    """The address the response actually came from (urllib3 keeps the socket under the
    response's file object while the body is unread)."""
    raw = response.raw
    for reach in (lambda: raw._connection.sock, lambda: raw._fp.fp.raw._sock):
        try:
            sock = reach()
            if sock is not None:
                return sock.getpeername()[0]
        except (AttributeError, OSError, TypeError):
            continue
    return None


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET the calendar, conditionally; ``CalendarProblem`` with a readable reason on failure."""
    config = current_app.config
    allow_private = config["EXTERNAL_CALENDAR_ALLOW_PRIVATE"]
    timeout = config["EXTERNAL_CALENDAR_TIMEOUT_S"]
    limit = config["EXTERNAL_CALENDAR_MAX_BYTES"]
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CalendarProblem("The calendar's address must start with https://.")
        _check_host(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), allow_private
        )
        try:
            response = requests.get(
                url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
            )
        except requests.Timeout as error:
            raise CalendarProblem("The calendar's server did not answer in time.") from error
        except requests.RequestException as error:
            raise CalendarProblem("The calendar's server could not be reached.") from error
        with response:
            if not allow_private:
                peer = _peer_address(response)
                if peer is None:
                    raise CalendarProblem("The calendar's server could not be checked.")
                _check_public(peer, parts.hostname)
            if response.is_redirect:
                url = urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code == 304:
                return Fetched(changed=False, etag=etag, last_modified=last_modified)
            if response.status_code in (401, 403, 404, 410):
                raise CalendarProblem(
                    f"The calendar's server says the address is not valid (HTTP "
                    f"{response.status_code}); copy the secret address again."
                )
            if response.status_code != 200:
                raise CalendarProblem(
                    f"The calendar's server answered HTTP {response.status_code}."
                )
            body = _read_limited(response, limit, timeout)
            return Fetched(
                changed=True,
                body=body,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    raise CalendarProblem("The calendar's address redirects too many times.")


def _read_limited(response: requests.Response, limit: int, timeout: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise CalendarProblem(f"The calendar is larger than {limit // 1_000_000} MB.")
    chunks, size = [], 0
    deadline = monotonic() + timeout * 3
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise CalendarProblem(f"The calendar is larger than {limit // 1_000_000} MB.")
        if monotonic() > deadline:
            raise CalendarProblem("The calendar's server sent it too slowly.")
        chunks.append(chunk)
    return b"".join(chunks)


# --- reading busy times ---------------------------------------------------------------------


def busy_intervals(
    body: bytes, time_zone: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Busy (UTC) intervals in [start, end), merged, from an iCalendar document."""
    try:
        calendar = icalendar.Calendar.from_ical(body)
        calendar = x_wr_timezone.to_standard(calendar)
        occurrences = recurring_ical_events.of(calendar).between(start, end)
    except Exception as error:  # a broken file says so; it never frees the instructor
        raise CalendarProblem(
            "The address did not give a calendar that could be read (iCalendar expected)."
        ) from error
    zone = ZoneInfo(time_zone)
    found = []
    for count, event in enumerate(occurrences):
        if count >= MAX_EVENTS:
            raise CalendarProblem("The calendar has too many events to read.")
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if "DTSTART" not in event:
            continue
        begins = _instant(event["DTSTART"].dt, zone)
        if "DTEND" in event:
            ends = _instant(event["DTEND"].dt, zone)
        elif "DURATION" in event:
            ends = begins + event["DURATION"].dt
        elif isinstance(event["DTSTART"].dt, datetime):
            continue  # no length: a moment, not a stretch of busy time
        else:
            ends = _instant(event["DTSTART"].dt + timedelta(days=1), zone)
        begins, ends = max(begins, start), min(ends, end)
        if ends > begins:
            found.append((begins, ends))
    return _merged(found)


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)  # floating and all-day: the school's local time
    return value.astimezone(ZoneInfo("UTC"))


def _merged(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for begins, ends in sorted(intervals):
        if merged and begins <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((begins, ends))
    return merged


def refresh_calendar(calendar_id: int, now: datetime | None = None) -> ExternalCalendar | None:
    """Read one calendar (in the current school's tenant) and store what it says."""
    now = now or clock.now()
    calendar = db.session.get(ExternalCalendar, calendar_id)
    if calendar is None:
        return None
    organization = db.session.get(Organization, calendar.organization_id)
    url, etag, modified = calendar.url, calendar.etag, calendar.last_modified
    db.session.commit()  # no transaction held open during the fetch
    try:
        fetched = fetch(url, etag=etag, last_modified=modified)
        intervals = None
        if fetched.changed:
            start = now - timedelta(days=1)
            intervals = busy_intervals(
                fetched.body, organization.time_zone, start, now + timedelta(days=HORIZON_DAYS)
            )
    except CalendarProblem as problem:
        calendar = db.session.get(ExternalCalendar, calendar_id)
        calendar.last_checked_at = now
        calendar.last_error = str(problem)
        db.session.commit()
        log.info("External calendar %s not read: %s", calendar_id, problem)
        return calendar
    calendar = db.session.get(ExternalCalendar, calendar_id)
    if calendar is None or calendar.url != url:
        db.session.commit()
        return calendar  # removed or replaced meanwhile: the next run reads the new one
    if intervals is not None:
        db.session.execute(sa.delete(BusyTime).where(BusyTime.calendar_id == calendar.id))
        db.session.add_all(
            BusyTime(
                organization_id=calendar.organization_id,
                instructor_id=calendar.instructor_id,
                calendar_id=calendar.id,
                starts_at=begins,
                ends_at=ends,
            )
            for begins, ends in intervals
        )
        calendar.busy_count = len(intervals)
        calendar.etag, calendar.last_modified = fetched.etag, fetched.last_modified
    calendar.last_checked_at = calendar.last_read_at = now
    calendar.last_error = None
    db.session.commit()
    return calendar


def upcoming_busy(instructor: Membership, now: datetime, limit: int = 20) -> list[BusyTime]:
    return list(
        db.session.scalars(
            sa.select(BusyTime)
            .where(
                BusyTime.organization_id == instructor.organization_id,
                BusyTime.instructor_id == instructor.id,
                BusyTime.ends_at > now,
            )
            .order_by(BusyTime.starts_at)
            .limit(limit)
        )
    )
