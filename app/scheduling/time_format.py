"""How a school writes the time of day: 12-hour ("2:30 PM") or 24-hour ("14:30").

One setting per school (``Organization.time_format``). Every time a person reads — the booking
page, panels, the dashboard, calendars, e-mails — goes through ``format_time`` (a wall time)
or ``format_moment`` (a UTC moment shown in a zone); every time a person types goes through
``parse_time``, which reads both ways of writing whatever the school's setting, because
people type what they are used to ("1000AM", "10:00 am", "22:00").

Plain Python (Babel for the default), no Flask: callers pass the school's setting.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime, time

from babel.core import Locale, UnknownLocaleError, get_global
from babel.dates import get_time_format
from babel.languages import get_official_languages

from app.scheduling.local_time import school_zone


class TimeFormat(enum.StrEnum):
    TWELVE_HOUR = "12h"
    TWENTY_FOUR_HOUR = "24h"

    @property
    def label(self) -> str:
        if self is TimeFormat.TWELVE_HOUR:
            return "12-hour (2:30 PM)"
        return "24-hour (14:30)"


TIME_FORMATS = tuple(TimeFormat)


def default_time_format(zone: str) -> TimeFormat:
    """What people in the zone's country write (CLDR via Babel): New York → 12-hour,
    London → 24-hour; 24-hour when the zone names no country (UTC)."""
    territory = get_global("zone_territories").get(zone)
    languages = get_official_languages(territory, de_facto=True) if territory else ()
    for language in languages[:1]:
        try:
            pattern = get_time_format("short", Locale.parse(f"{language}_{territory}")).pattern
        except (UnknownLocaleError, ValueError):
            break
        if "h" in pattern or "K" in pattern:  # CLDR: h/K are 12-hour clocks, H/k 24-hour
            return TimeFormat.TWELVE_HOUR
    return TimeFormat.TWENTY_FOUR_HOUR


def format_time(value: time | datetime, time_format: str) -> str:
    """A wall time as the school writes it: "2:30 PM" or "14:30"."""
    if TimeFormat(time_format) is TimeFormat.TWELVE_HOUR:
        hour = value.hour % 12 or 12
        return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"
    return f"{value.hour:02d}:{value.minute:02d}"


def format_range(start: time | datetime, end: time | datetime, time_format: str) -> str:
    return f"{format_time(start, time_format)}–{format_time(end, time_format)}"


def format_moment(
    moment: datetime,
    zone: str,
    time_format: str,
    day: str = "%a %d %b %Y",
    *,
    zone_name: bool = True,
) -> str:
    """A moment in ``zone``: "Tue 08 Dec 2026, 2:30 PM EST". ``day`` is a strftime pattern
    for the date part ("" for the time alone); ``zone_name`` adds the zone's abbreviation."""
    local = moment.astimezone(school_zone(zone))
    text = format_time(local, time_format)
    if day:
        text = f"{local.strftime(day)}, {text}"
    return f"{text} {local.tzname()}" if zone_name else text


def time_example(time_format: str) -> str:
    """The hint shown in (and under) time inputs."""
    return "2:00 PM" if TimeFormat(time_format) is TimeFormat.TWELVE_HOUR else "14:00"


_MERIDIEM = re.compile(r"([ap])\.?(?:m\.?)?$")
_SEPARATED = re.compile(r"(\d{1,2})(?:[:.h](\d{2})(?::00)?)?")
_RUN_TOGETHER = re.compile(r"(\d{1,2})(\d{2})")  # "1000", "930"


class TimeNotUnderstood(ValueError):
    """Typed text that is not a time of day."""


def parse_time(text: str) -> time:
    """ "1000AM", "10:00 am", "10am", "10.30 p.m.", "22:00", "2200", "9" → a wall time.

    Raises ``TimeNotUnderstood`` for anything else (25:00, 13 PM, "nine")."""
    compact = re.sub(r"\s+", "", text or "").lower()
    meridiem = _MERIDIEM.search(compact)
    digits = compact[: meridiem.start()] if meridiem else compact
    found = _SEPARATED.fullmatch(digits) or _RUN_TOGETHER.fullmatch(digits)
    if not found:
        raise TimeNotUnderstood(text)
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    if meridiem:
        if not 1 <= hour <= 12:
            raise TimeNotUnderstood(text)
        hour = hour % 12 + (12 if meridiem.group(1) == "p" else 0)
    if hour > 23 or minute > 59:
        raise TimeNotUnderstood(text)
    return time(hour, minute)
