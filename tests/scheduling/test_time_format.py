"""The one way times are written and read: 12-hour or 24-hour, as the school chooses."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.scheduling import validate_weekly_windows
from app.scheduling.model import ALL_MODES, WorkingWindow
from app.scheduling.time_format import (
    TimeNotUnderstood,
    default_time_format,
    format_moment,
    format_range,
    format_time,
    parse_time,
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1000AM", time(10)),  # a US browser's time box typed key by key
        ("10:00 am", time(10)),
        ("10am", time(10)),
        ("10.30 p.m.", time(22, 30)),
        ("22:00", time(22)),
        ("2200", time(22)),
        ("930", time(9, 30)),
        ("9", time(9)),
        ("12:00 AM", time(0)),
        ("12 pm", time(12)),
        ("14:05:00", time(14, 5)),
        (" 7:45 PM ", time(19, 45)),
    ],
)
def test_times_are_read_however_they_are_typed(typed, expected):
    assert parse_time(typed) == expected, f"{typed!r}: expected {expected}, got {parse_time(typed)}"


@pytest.mark.parametrize(
    "typed", ["", "nine", "25:00", "13 PM", "0 AM", "10:60", "10:5", "1:00 xm"]
)
def test_what_is_not_a_time_is_refused(typed):
    with pytest.raises(TimeNotUnderstood):
        parse_time(typed)


def test_a_time_is_written_the_schools_way():
    assert [format_time(time(h, 5), "12h") for h in (0, 9, 12, 23)] == [
        "12:05 AM",
        "9:05 AM",
        "12:05 PM",
        "11:05 PM",
    ]
    assert format_time(time(9, 5), "24h") == "09:05"
    assert format_range(time(9), time(17, 30), "12h") == "9:00 AM–5:30 PM"
    moment = datetime(2026, 12, 8, 19, 30, tzinfo=UTC)
    assert format_moment(moment, "America/New_York", "12h") == "Tue 08 Dec 2026, 2:30 PM EST"
    assert format_moment(moment, "Europe/London", "24h", "%a") == "Tue, 19:30 GMT"
    assert format_moment(moment, "Europe/London", "24h", "", zone_name=False) == "19:30"


@given(st.times(), st.sampled_from(["12h", "24h"]))
def test_what_is_written_reads_back_as_the_same_minute(value, time_format):
    minute = value.replace(second=0, microsecond=0, tzinfo=None)
    assert parse_time(format_time(minute, time_format)) == minute


def test_a_new_school_writes_times_as_its_country_does():
    assert default_time_format("America/New_York") == "12h"
    assert default_time_format("Europe/London") == "24h"
    assert default_time_format("Europe/Paris") == "24h"
    assert default_time_format("UTC") == "24h"


def test_hours_problems_are_written_in_the_schools_format():
    windows = [
        WorkingWindow(7, 0, time(14), time(20), None, ALL_MODES, None, None),
        WorkingWindow(7, 0, time(19), time(21), None, ALL_MODES, None, None),
    ]
    assert validate_weekly_windows(windows, "12h") == [
        "Instructor 7, Monday 2:00 PM–8:00 PM overlaps 7:00 PM–9:00 PM."
    ]
    assert validate_weekly_windows(windows) == [
        "Instructor 7, Monday 14:00–20:00 overlaps 19:00–21:00."
    ]
