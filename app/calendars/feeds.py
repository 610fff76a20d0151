"""iCal subscription feeds: secret URLs per instructor, student, location and school.

A feed URL is ``https://<school>.<domain>/calendar/feeds/<token>.ics``. The token (256 bits)
is ``HMAC-SHA256(SECRET_KEY, feed.secret)``, so the page can show it again while the
database alone never reveals it; the row is found by the token's SHA-256 (``token_hash``,
unique), and the token is then recomputed and compared with ``hmac.compare_digest``. The
lookup runs as the school's tenant (RLS), so another school's token is simply not there.
Rotating draws a new secret: the old URL is a 404 from that moment.

What a feed holds: the bookings starting from 60 days back to 365 days ahead (whole UTC
days, so the content and ``Last-Modified`` change at most once a day by themselves), with
bookings cancelled in the last 30 days kept as ``STATUS:CANCELLED`` so subscribed calendars
remove them. ``fingerprint`` answers ETag / Last-Modified with one aggregate query, so a
``304 Not Modified`` never loads a booking.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import selectinload

from app import clock
from app.calendars.ical import booking_event, calendar_bytes
from app.extensions import db
from app.models import (
    Booking,
    BookingAttendee,
    BookingStatus,
    CalendarFeed,
    FeedKind,
    Location,
    Membership,
    MembershipRole,
    Organization,
)

DAYS_BACK = 60
DAYS_AHEAD = 365
CANCELLED_KEPT_DAYS = 30
REFRESH = timedelta(hours=1)
# Part of every ETag: bump it when the rendering changes, so subscribers take the new form.
FORMAT_VERSION = "1"
CONFIRMED = BookingStatus.CONFIRMED.value


class FeedNotFound(Exception):
    """No feed answers to this token in this school (the view says 404, nothing more)."""


# --- tokens ------------------------------------------------------------------------------


def feed_token(feed: CalendarFeed) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"calendar-feed:{feed.secret}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_secret(feed: CalendarFeed) -> None:
    feed.secret = secrets.token_hex(32)
    feed.token_hash = _token_hash(feed_token(feed))


def feed_by_token(token: str) -> CalendarFeed:
    """The current school's feed with this token, or ``FeedNotFound``."""
    if not 20 <= len(token) <= 100:
        raise FeedNotFound
    feed = db.session.scalar(
        sa.select(CalendarFeed).where(CalendarFeed.token_hash == _token_hash(token))
    )
    if feed is None or not hmac.compare_digest(feed_token(feed), token):
        raise FeedNotFound
    return feed


# --- which feeds a person may see ----------------------------------------------------------


@dataclass(frozen=True)
class FeedChoice:
    """A feed the signed-in person may subscribe to (and rotate)."""

    kind: FeedKind
    label: str
    membership_id: int | None = None
    location_id: int | None = None


def feeds_for(member: Membership) -> list[FeedChoice]:
    """Students and instructors: their own. Admins: the school's, each location's, and each
    instructor's (to hand over or rotate)."""
    if member.role == MembershipRole.STUDENT:
        return [FeedChoice(FeedKind.STUDENT, "My lessons", membership_id=member.id)]
    if member.role == MembershipRole.INSTRUCTOR:
        return [FeedChoice(FeedKind.INSTRUCTOR, "My teaching", membership_id=member.id)]
    choices = [FeedChoice(FeedKind.SCHOOL, "Every booking in the school")]
    locations = db.session.execute(
        sa.select(Location.id, Location.name)
        .where(Location.organization_id == member.organization_id)
        .order_by(Location.name)
    )
    choices += [FeedChoice(FeedKind.LOCATION, name, location_id=i) for i, name in locations]
    instructors = db.session.scalars(
        sa.select(Membership).where(
            Membership.organization_id == member.organization_id,
            Membership.role == MembershipRole.INSTRUCTOR,
            Membership.active.is_(True),
        )
    ).all()
    choices += [
        FeedChoice(FeedKind.INSTRUCTOR, f"{m.full_name} (instructor)", membership_id=m.id)
        for m in sorted(instructors, key=lambda m: m.full_name)
    ]
    return choices


def _find(choice: FeedChoice, organization_id: int) -> CalendarFeed | None:
    return db.session.scalar(
        sa.select(CalendarFeed).where(
            CalendarFeed.organization_id == organization_id,
            CalendarFeed.kind == choice.kind.value,
            CalendarFeed.membership_id.is_(None)
            if choice.membership_id is None
            else CalendarFeed.membership_id == choice.membership_id,
            CalendarFeed.location_id.is_(None)
            if choice.location_id is None
            else CalendarFeed.location_id == choice.location_id,
        )
    )


def ensure_feeds(member: Membership) -> list[tuple[FeedChoice, CalendarFeed]]:
    """The person's feeds, creating any that do not exist yet (one transaction)."""
    found = []
    created = False
    for choice in feeds_for(member):
        feed = _find(choice, member.organization_id)
        if feed is None:
            feed = CalendarFeed(
                organization_id=member.organization_id,
                kind=choice.kind.value,
                membership_id=choice.membership_id,
                location_id=choice.location_id,
            )
            _new_secret(feed)
            db.session.add(feed)
            created = True
        found.append((choice, feed))
    if created:
        db.session.commit()
    return found


def rotate_feed(member: Membership, feed_id: int) -> CalendarFeed:
    """A new URL for one of the person's feeds; the old one is a 404 from now on."""
    for _choice, feed in ensure_feeds(member):
        if feed.id == feed_id:
            _new_secret(feed)
            feed.rotated_at = clock.now()
            db.session.commit()
            return feed
    raise FeedNotFound


# --- what a feed holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    starts: datetime
    ends: datetime
    cancelled_since: datetime
    day_start: datetime  # today, 00:00 UTC: the window moves once a day


def feed_window(now: datetime | None = None) -> Window:
    today = (now or clock.now()).astimezone(UTC).date()
    midnight = datetime.combine(today, time(), tzinfo=UTC)
    return Window(
        starts=midnight - timedelta(days=DAYS_BACK),
        ends=midnight + timedelta(days=DAYS_AHEAD + 1),
        cancelled_since=midnight - timedelta(days=CANCELLED_KEPT_DAYS),
        day_start=midnight,
    )


def _booking_filter(feed: CalendarFeed, window: Window) -> list:
    where = [
        Booking.organization_id == feed.organization_id,
        Booking.starts_at >= window.starts,
        Booking.starts_at < window.ends,
    ]
    if feed.kind == FeedKind.INSTRUCTOR:
        where.append(Booking.instructor_id == feed.membership_id)
    elif feed.kind == FeedKind.LOCATION:
        where.append(Booking.location_id == feed.location_id)
    if feed.kind != FeedKind.STUDENT:
        where.append(
            sa.or_(Booking.status == CONFIRMED, Booking.cancelled_at >= window.cancelled_since)
        )
    return where


def _seat_filter(feed: CalendarFeed, window: Window) -> list:
    return [
        BookingAttendee.organization_id == feed.organization_id,
        BookingAttendee.student_id == feed.membership_id,
        sa.or_(
            BookingAttendee.status == CONFIRMED,
            BookingAttendee.cancelled_at >= window.cancelled_since,
        ),
    ]


@dataclass(frozen=True)
class Fingerprint:
    etag: str
    last_modified: datetime  # whole seconds, for the HTTP header


def fingerprint(feed: CalendarFeed, now: datetime | None = None) -> Fingerprint:
    """ETag and Last-Modified of the feed as it would be rendered now: one aggregate query."""
    window = feed_window(now)
    if feed.kind == FeedKind.STUDENT:
        rows = (
            sa.select(
                sa.func.count(),
                sa.func.max(sa.func.greatest(Booking.updated_at, BookingAttendee.cancelled_at)),
                sa.func.md5(
                    sa.func.string_agg(
                        sa.func.concat_ws(
                            ":",
                            BookingAttendee.id,
                            BookingAttendee.status,
                            Booking.id,
                            Booking.sequence,
                            Booking.updated_at,
                        ),
                        aggregate_order_by(sa.literal(","), BookingAttendee.id),
                    )
                ),
            )
            .select_from(BookingAttendee)
            .join(Booking, Booking.id == BookingAttendee.booking_id)
            .where(*_seat_filter(feed, window), *_booking_filter(feed, window))
        )
    else:
        rows = sa.select(
            sa.func.count(),
            sa.func.max(Booking.updated_at),
            sa.func.md5(
                sa.func.string_agg(
                    sa.func.concat_ws(
                        ":",
                        Booking.id,
                        Booking.sequence,
                        Booking.updated_at,
                        Booking.status,
                        Booking.seats_taken,
                    ),
                    aggregate_order_by(sa.literal(","), Booking.id),
                )
            ),
        ).where(*_booking_filter(feed, window))
    count, newest, digest = db.session.execute(rows).one()
    parts = [FORMAT_VERSION, feed.token_hash[:16], window.day_start.date().isoformat()]
    parts += [str(count), digest or "-"]
    etag = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    changed = max(x for x in (newest, feed.rotated_at, window.day_start) if x is not None)
    return Fingerprint(etag=etag, last_modified=changed.astimezone(UTC).replace(microsecond=0))


def _name(feed: CalendarFeed, organization: Organization) -> str:
    if feed.kind == FeedKind.SCHOOL:
        return f"{organization.name}: all bookings"
    if feed.kind == FeedKind.LOCATION:
        return f"{organization.name}: {feed.location.name}"
    return f"{organization.name}: {feed.membership.full_name}"


def _load_options():
    return (
        selectinload(Booking.appointment_type),
        selectinload(Booking.location),
        selectinload(Booking.instructor).selectinload(Membership.user),
        selectinload(Booking.attendees)
        .selectinload(BookingAttendee.student)
        .selectinload(Membership.user),
    )


class _RenderedEvents:
    """Rendered VEVENT bytes, by everything they depend on (a bounded LRU, per process).

    A booking's event changes only when the booking does (``sequence``, ``updated_at``,
    status; a seat's status for a student), so a feed whose bookings did not change is
    assembled from here without loading or rendering a booking. Keys hold booking and seat
    ids, so a school only ever gets its own rows' events: the rows come from its own query."""

    def __init__(self, size: int):
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get_many(self, keys: list[tuple]) -> dict[tuple, bytes]:
        with self._lock:
            found = {}
            for key in keys:
                value = self._items.get(key)
                if value is not None:
                    self._items.move_to_end(key)
                    found[key] = value
            return found

    def put(self, key: tuple, value: bytes) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


RENDERED = _RenderedEvents(size=50_000)


def render_feed(feed: CalendarFeed, base_url: str, now: datetime | None = None) -> bytes:
    """The feed's ``VCALENDAR`` bytes (``base_url``: the school's site, for links back).

    One light query lists the events and their versions; only events not rendered before
    are loaded and rendered."""
    window = feed_window(now)
    organization = db.session.get(Organization, feed.organization_id)
    wanted = (
        _student_versions(feed, window, base_url)
        if feed.kind == FeedKind.STUDENT
        else [
            (
                (FORMAT_VERSION, feed.kind, base_url, *version),
                version[0],
                None,
            )
            for version in db.session.execute(
                sa.select(
                    Booking.id,
                    Booking.sequence,
                    Booking.updated_at,
                    Booking.status,
                    Booking.seats_taken,
                )
                .where(*_booking_filter(feed, window))
                .order_by(Booking.starts_at, Booking.id)
            )
        ]
    )
    rendered = RENDERED.get_many([key for key, _, _ in wanted])
    missing = [item for item in wanted if item[0] not in rendered]
    if missing:
        rendered.update(_render(feed, missing, base_url))
    return calendar_bytes(
        [rendered[key] for key, _, _ in wanted],
        method="PUBLISH",
        name=_name(feed, organization),
        description=f"Bookings at {organization.name} (times in UTC; the school is in "
        f"{organization.time_zone})",
        refresh=REFRESH,
        time_zone=organization.time_zone,
    )


def _student_versions(feed: CalendarFeed, window: Window, base_url: str) -> list:
    rows = db.session.execute(
        sa.select(
            Booking.id,
            Booking.sequence,
            Booking.updated_at,
            Booking.status,
            BookingAttendee.id,
            BookingAttendee.status,
            BookingAttendee.cancelled_at,
        )
        .join(Booking, Booking.id == BookingAttendee.booking_id)
        .where(*_seat_filter(feed, window), *_booking_filter(feed, window))
        .order_by(Booking.starts_at, BookingAttendee.id)
    ).all()
    # One event per session: a seat cancelled and booked again shows once, as booked.
    chosen: dict[int, tuple] = {}
    for row in rows:
        kept = chosen.get(row[0])
        if kept is None or (row[5] == CONFIRMED and kept[5] != CONFIRMED):
            chosen[row[0]] = row
    # Key: everything the event shows that can change (the booking's and the seat's).
    return [(tuple(row) + (FORMAT_VERSION, base_url), row[0], row[4]) for row in chosen.values()]


def _render(feed: CalendarFeed, missing: list, base_url: str) -> dict[tuple, bytes]:
    booking_ids = [booking_id for _, booking_id, _ in missing]
    bookings = {
        booking.id: booking
        for booking in db.session.scalars(
            sa.select(Booking).where(Booking.id.in_(booking_ids)).options(*_load_options())
        )
    }
    seats = {}
    if feed.kind == FeedKind.STUDENT:
        seats = {
            seat.id: seat
            for seat in db.session.scalars(
                sa.select(BookingAttendee)
                .where(BookingAttendee.id.in_([seat_id for _, _, seat_id in missing]))
                .options(selectinload(BookingAttendee.student).selectinload(Membership.user))
            )
        }
    done = {}
    for key, booking_id, seat_id in missing:
        booking = bookings[booking_id]
        if seat_id is None:
            event = booking_event(booking, link=_staff_link(feed, booking, base_url))
        else:
            event = booking_event(
                booking, link=f"{base_url}/bookings/{seat_id}", seat=seats[seat_id]
            )
        done[key] = event.to_ical()
        RENDERED.put(key, done[key])
    return done


def _staff_link(feed: CalendarFeed, booking: Booking, base_url: str) -> str:
    if feed.kind == FeedKind.INSTRUCTOR:
        return f"{base_url}/teaching/lessons/{booking.id}"
    return f"{base_url}/calendar/bookings/{booking.id}"
