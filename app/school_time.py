"""Times as the current school writes them: its zone and its 12/24-hour setting, bound to
the one formatter (``app.scheduling.time_format``).

Pages, panels, models' ``…_display`` properties and e-mail tasks (inside ``tenant()``) call
these; code that already holds the school passes its ``time_format`` to the formatter itself.
On the platform (no school) times are UTC and 24-hour.
"""

from __future__ import annotations

from datetime import datetime, time

from app.scheduling.time_format import (
    TimeFormat,
    format_moment,
    format_range,
    format_time,
    time_example,
)


def _school():
    from app.tenancy import current_org  # late: models import this module

    return current_org()


def school_time_format() -> str:
    school = _school()
    return school.time_format if school is not None else TimeFormat.TWENTY_FOUR_HOUR.value


def shown_time(value: time | datetime | int | None) -> str:
    """A wall time: "2:30 PM" or "14:30"; an int is that hour ("2:00 PM", a calendar row)."""
    if value is None:
        return ""
    if isinstance(value, int):
        value = time(value)
    return format_time(value, school_time_format())


def shown_range(start: time | None, end: time | None) -> str:
    if start is None or end is None:
        return ""
    return format_range(start, end, school_time_format())


def shown_moment(
    moment: datetime | None,
    zone: str | None = None,
    day: str = "%a %d %b %Y",
    *,
    zone_name: bool = True,
) -> str:
    """A UTC moment in the school's zone (or ``zone``): "Tue 08 Dec 2026, 2:30 PM EST"."""
    if moment is None:
        return ""
    school = _school()
    zone = zone or (school.time_zone if school is not None else "UTC")
    return format_moment(moment, zone, school_time_format(), day, zone_name=zone_name)


def time_input_example() -> str:
    """A time written the school's way, for hints: "2:00 PM" or "14:00"."""
    return time_example(school_time_format())


def time_input_placeholder() -> str:
    """A time box's placeholder: "e.g. 2:00 PM" (a bare time would read as a value)."""
    return f"e.g. {time_input_example()}"


def init_app(app) -> None:
    """Template filters: ``{{ booking.starts_at|local }}``, ``|local(zone, day="%a")``
    (``day=""``: the time alone), ``{{ row.start_time|clock }}``, and the inputs' example."""
    app.add_template_filter(shown_moment, "local")
    app.add_template_filter(shown_time, "clock")
    app.add_template_global(time_input_placeholder, "time_placeholder")
