"""The school admin's home: what happens today and this week, what changed lately, and what
needs attention. Reads only; times in the school's zone; "now" from ``app.clock``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import clock
from app.booking import disruptions, service
from app.booking.schedule_data import local_midnight
from app.extensions import db
from app.models import Booking, BookingChange, ChangeAction

RECENT_DAYS = 7


@dataclass(frozen=True)
class DayOfLessons:
    day: date
    lessons: list[Booking]

    @property
    def is_today(self) -> bool:
        return self.day == clock.now().astimezone(ZoneInfo(service.school().time_zone)).date()


@dataclass(frozen=True)
class FailedNotification:
    id: int
    when: datetime
    recipient: str
    subject: str
    error: str


@dataclass(frozen=True)
class Dashboard:
    time_zone: str
    zone_label: str
    today: date
    today_lessons: list[Booking]
    week: list[DayOfLessons]  # Monday to Sunday of this week
    new_bookings: list[BookingChange]
    cancellations: list[BookingChange]
    attention: list[disruptions.LessonNeedingAttention]
    failed_notifications: list[FailedNotification]

    @property
    def week_lesson_count(self) -> int:
        return sum(len(d.lessons) for d in self.week)


def _lessons(first: datetime, end: datetime) -> list[Booking]:
    return list(
        db.session.scalars(
            sa.select(Booking)
            .options(selectinload(Booking.attendees))
            .where(
                Booking.organization_id == service.school().id,
                Booking.status == service.CONFIRMED,
                Booking.starts_at >= first,
                Booking.starts_at < end,
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )


def _recent(action: ChangeAction, since: datetime, limit: int = 50) -> list[BookingChange]:
    return list(
        db.session.scalars(
            sa.select(BookingChange)
            .where(
                BookingChange.organization_id == service.school().id,
                BookingChange.action == action.value,
                BookingChange.created_at >= since,
            )
            .order_by(BookingChange.created_at.desc(), BookingChange.id.desc())
            .limit(limit)
        )
    )


def failed_notifications(limit: int = 20) -> list[FailedNotification]:
    """Hook for the notifications outbox: e-mails that gave up. Empty until the outbox
    (``app.models.notification.Notification``, status ``failed``) exists."""
    try:
        from app.models.notification import Notification
    except ImportError:
        return []
    rows = db.session.scalars(
        sa.select(Notification)
        .where(Notification.organization_id == service.school().id, Notification.status == "failed")
        .order_by(Notification.created_at.desc())
        .limit(limit)
    )
    return [
        FailedNotification(n.id, n.created_at, n.recipient, n.subject, n.last_error or "")
        for n in rows
    ]


def school_dashboard() -> Dashboard:
    organization = service.school()
    zone = ZoneInfo(organization.time_zone)
    now = clock.now()
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    week_lessons = _lessons(
        local_midnight(monday, zone), local_midnight(monday + timedelta(7), zone)
    )
    by_day = {monday + timedelta(days=n): [] for n in range(7)}
    for lesson in week_lessons:
        by_day[lesson.starts_at.astimezone(zone).date()].append(lesson)
    today_lessons = _lessons(
        local_midnight(today, zone), local_midnight(today + timedelta(days=1), zone)
    )
    since = now - timedelta(days=RECENT_DAYS)
    return Dashboard(
        time_zone=organization.time_zone,
        zone_label=now.astimezone(zone).tzname() or organization.time_zone,
        today=today,
        today_lessons=today_lessons,
        week=[DayOfLessons(day, lessons) for day, lessons in by_day.items()],
        new_bookings=_recent(ChangeAction.BOOKED, since),
        cancellations=_recent(ChangeAction.CANCELLED, since),
        attention=disruptions.lessons_needing_attention(),
        failed_notifications=failed_notifications(),
    )
