"""The input values refuse nonsense early and accept the obvious shorthand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from app.scheduling import (
    ALL_MODES,
    AppointmentTypeSpec,
    DateOverride,
    LocationMode,
    OverrideWindow,
    Refusal,
    SlotQuery,
    TimeOff,
)

from .factories import lesson_type


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration_minutes", 0, "duration_minutes must be positive"),
        ("buffer_before_minutes", -5, "buffers cannot be negative"),
        ("capacity", 0, "capacity must be at least 1"),
        ("slot_step_minutes", 0, "slot_step_minutes must be positive"),
        ("min_notice_hours", -1, "min_notice_hours cannot be negative"),
        ("max_advance_days", -1, "max_advance_days cannot be negative"),
    ],
)
def test_appointment_type_refuses_nonsense(field: str, value: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lesson_type(**{field: value})


def test_modes_may_be_given_as_plain_strings() -> None:
    spec = AppointmentTypeSpec(id=1, duration_minutes=30, location_modes={"online"})
    assert spec.location_modes == frozenset({LocationMode.ONLINE}), spec.location_modes


def test_group_class_is_capacity_above_one() -> None:
    assert lesson_type(capacity=6).is_group and not lesson_type().is_group


def test_override_accepts_plain_start_end_pairs() -> None:
    override = DateOverride(7, date(2026, 6, 1), ((time(9), time(10)),))
    assert override.windows == (OverrideWindow(time(9), time(10), None, ALL_MODES),)


def test_time_off_must_be_aware_and_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeOff(7, datetime(2026, 6, 1, 9), datetime(2026, 6, 1, 10, tzinfo=UTC))
    with pytest.raises(ValueError, match="must end after it starts"):
        TimeOff(7, datetime(2026, 6, 1, 9, tzinfo=UTC), datetime(2026, 6, 1, 9, tzinfo=UTC))


def test_query_dates_must_not_run_backwards() -> None:
    with pytest.raises(ValueError, match="is before date_from_local"):
        SlotQuery(lesson_type(), date(2026, 6, 2), date(2026, 6, 1))


def test_refusals_are_strings_people_can_read() -> None:
    for refusal in Refusal:
        assert isinstance(refusal, str) and refusal.value.endswith("."), refusal
