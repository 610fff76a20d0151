"""Checks on an instructor's weekly hours before they are saved, in words a person reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, time

from .model import WorkingWindow
from .time_format import format_time

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GRID_MINUTES = 5


def validate_weekly_windows(
    windows: Iterable[WorkingWindow], time_format: str = "24h"
) -> list[str]:
    """Problems with a set of weekly windows; an empty list means they can be saved. Times in
    the messages are written the school's way (``time_format``, "12h" or "24h").

    Two windows of one instructor on one weekday may not overlap while both are in effect
    (effective ranges that never meet are fine: "9–12 until June, 10–14 from July").
    """
    windows = list(windows)
    problems = [p for w in windows for p in _window_problems(w, time_format)]
    by_day: dict[tuple[int, int], list[WorkingWindow]] = defaultdict(list)
    for w in windows:
        if w.start_local < w.end_local and 0 <= w.weekday <= 6:
            by_day[(w.instructor_id, w.weekday)].append(w)
    for day_windows in by_day.values():
        problems.extend(_overlap_problems(day_windows, time_format))
    return problems


def _window_problems(w: WorkingWindow, time_format: str) -> list[str]:
    if not 0 <= w.weekday <= 6:
        weekday = f"weekday must be 0 (Monday) to 6 (Sunday), not {w.weekday}"
        return [f"Instructor {w.instructor_id}: {weekday}."]
    label = _label(w, time_format)
    problems = []
    if w.start_local >= w.end_local:
        problems.append(f"{label}: the start must be before the end.")
    off_grid = [t for t in (w.start_local, w.end_local) if not _on_grid(t)]
    if off_grid:
        problems.append(
            f"{label}: times must be on a {GRID_MINUTES}-minute grid "
            f"({', '.join(_hhmm(t, time_format) for t in off_grid)} is not)."
        )
    if w.effective_from and w.effective_until and w.effective_from > w.effective_until:
        problems.append(
            f"{label}: 'effective from' ({w.effective_from}) is after "
            f"'effective until' ({w.effective_until})."
        )
    if not w.modes:
        problems.append(
            f"{label}: choose at least one way of teaching (in person, online, at home)."
        )
    return problems


def _overlap_problems(windows: list[WorkingWindow], time_format: str) -> list[str]:
    windows = sorted(windows, key=lambda w: (w.start_local, w.end_local))
    problems = []
    for i, first in enumerate(windows):
        for second in windows[i + 1 :]:
            if second.start_local >= first.end_local:
                break  # sorted by start: nothing later can overlap `first`
            if _in_effect_together(first, second):
                problems.append(
                    f"{_label(first, time_format)} overlaps "
                    f"{_hhmm(second.start_local, time_format)}–"
                    f"{_hhmm(second.end_local, time_format)}."
                )
    return problems


def _in_effect_together(a: WorkingWindow, b: WorkingWindow) -> bool:
    a_from, a_until = a.effective_from or date.min, a.effective_until or date.max
    b_from, b_until = b.effective_from or date.min, b.effective_until or date.max
    return a_from <= b_until and b_from <= a_until


def _on_grid(t: time) -> bool:
    return t.minute % GRID_MINUTES == 0 and t.second == 0 and t.microsecond == 0


def _label(w: WorkingWindow, time_format: str) -> str:
    return (
        f"Instructor {w.instructor_id}, {WEEKDAY_NAMES[w.weekday]} "
        f"{_hhmm(w.start_local, time_format)}–{_hhmm(w.end_local, time_format)}"
    )


def _hhmm(t: time, time_format: str) -> str:
    if t.second:  # seconds are off the grid: show them, or the message reads "10:00 is not"
        return f"{format_time(t, time_format)} (+{t.second}s)"
    return format_time(t, time_format)
