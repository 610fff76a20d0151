"""Reading what a visitor typed or clicked (query strings, forms) into checked values.

Anything unreadable is a ``BadInput`` (400) with a sentence a student understands.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from app import clock
from app.booking.service import BookingProblem
from app.models import LocationMode

MODE_VALUES = frozenset(m.value for m in LocationMode)
MAX_API_DAYS = 62
# Dates a visitor may ask about: far enough for any real lesson, far from date's limits (a
# week added to 9999-12-31, or 0001-01-01 moved to UTC, would overflow).
FIRST_YEAR, LAST_YEAR = 1900, 2999


class BadInput(BookingProblem):
    status_code = 400


def optional_int(value: str | None, what: str) -> int | None:
    if value is None or value.strip() in ("", "any"):
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadInput(f"The {what} “{value}” is not valid; please choose from the list.") from None
    if number < 1 or number > 2**31 - 1:
        raise BadInput(f"The {what} “{value}” is not valid; please choose from the list.")
    return number


def required_int(value: str | None, what: str) -> int:
    number = optional_int(value, what)
    if number is None:
        raise BadInput(f"Please choose a {what}.")
    return number


def optional_date(value: str | None, what: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"The {what} “{value}” is not a date like 2026-03-30.") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadInput(f"The {what} “{value}” is too far away; please choose a nearer date.")
    return day


def moment(value: str | None) -> datetime:
    """An ISO 8601 moment with its UTC offset (the booking page's links carry these)."""
    if not value:
        raise BadInput("Please pick a time from the list.")
    try:
        # An unencoded "+" in a query string arrives as a space before the offset.
        parsed = datetime.fromisoformat(re.sub(r" (\d{2}:\d{2})$", r"+\1", value.strip()))
    except ValueError:
        raise BadInput(
            f"The time “{value}” could not be read; please pick one from the list."
        ) from None
    if parsed.tzinfo is None:
        raise BadInput("The time must include its time zone; please pick one from the list.")
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise BadInput(f"The time “{value}” is too far away; please pick one from the list.")
    return parsed


def optional_mode(value: str | None) -> str | None:
    if value is None or value.strip() in ("", "any"):
        return None
    if value not in MODE_VALUES:
        raise BadInput("Choose in person, online or at your location.")
    return value


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone a visitor may choose ("Europe/Paris"), sorted, without the legacy
    aliases ("US/Eastern", "Etc/GMT+5") that only confuse a list."""
    return tuple(
        sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "US/")))
    )


@cache
def _zones_by_key() -> dict[str, str]:
    """Lower-case full names and city names ("paris", "new york") -> the zone."""
    keys: dict[str, str] = {}
    for zone in available_timezones():
        keys[zone.lower()] = keys[zone.replace("_", " ").lower()] = zone
    for zone in zone_names():
        city = zone.rsplit("/", 1)[1].replace("_", " ").lower()
        keys.setdefault(city, zone)
    return keys


def time_zone(value: str | None) -> str | None:
    """The IANA zone a visitor means ("Europe/Paris", "paris", "New York"), or None for
    missing / unknown (never an error: it is a hint)."""
    if not value or len(value) > 64:
        return None
    key = " ".join(value.replace("_", " ").split()).lower()
    return _zones_by_key().get(value.strip().lower()) or _zones_by_key().get(key)


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def today_in(zone: str) -> date:
    return clock.now().astimezone(ZoneInfo(zone)).date()


def date_range(first: date | None, stop: date | None, zone: str) -> tuple[date, date]:
    """API dates: ``from`` defaults to today, ``to`` (exclusive) to a week later."""
    first = first or today_in(zone)
    stop = stop or first + timedelta(days=7)
    if stop <= first:
        raise BadInput("“to” must be after “from”.")
    if (stop - first).days > MAX_API_DAYS:
        raise BadInput(f"Ask for at most {MAX_API_DAYS} days at a time.")
    return first, stop
