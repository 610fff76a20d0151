"""Hypothesis strategies: small random schools around DST weeks, plus the query to ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from app.scheduling import (
    AppointmentTypeSpec,
    BusyBooking,
    DateOverride,
    LocationMode,
    SchoolCalendar,
    SlotQuery,
    TimeOff,
    WorkingWindow,
)

NEW_YORK, LONDON = "America/New_York", "Europe/London"
# Monday of a week holding a spring-forward Sunday, a fall-back Sunday, and a plain week.
WEEKS = {
    NEW_YORK: (date(2026, 3, 2), date(2026, 10, 26), date(2026, 6, 1)),
    LONDON: (date(2026, 3, 23), date(2026, 10, 19), date(2026, 6, 1)),
}
INSTRUCTORS = (1, 2, 3)
LOCATIONS = (1, 2)
TYPE_ID, OTHER_TYPE_ID = 1, 99
# Night starts are over-represented so windows often cover the DST change at 01:00/02:00.
WINDOW_STARTS = st.one_of(
    st.sampled_from([0, 30, 60, 90, 120, 150]), st.integers(0, 20 * 12).map(lambda n: n * 5)
)


@dataclass(frozen=True)
class Case:
    """One random school, one question about it, and the moment it is asked."""

    school: SchoolCalendar
    query: SlotQuery
    now: datetime
    week: date

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.school.time_zone)


def minutes(n: int) -> time:
    return time(n // 60, n % 60)


modes = st.frozensets(st.sampled_from(list(LocationMode)), min_size=1)


@st.composite
def day_windows(draw: st.DrawFn) -> list[tuple[int, int]]:
    """One or two windows (start, end in minutes) that neither overlap nor touch."""
    start = draw(WINDOW_STARTS)
    end = min(start + draw(st.integers(6, 96)) * 5, 23 * 60 + 55)
    windows = [(start, end)]
    if end <= 21 * 60 and draw(st.booleans()):
        second = end + draw(st.integers(1, 24)) * 5
        windows.append((second, min(second + draw(st.integers(6, 48)) * 5, 23 * 60 + 55)))
    return windows


@st.composite
def weekly_hours(draw: st.DrawFn, week: date) -> list[WorkingWindow]:
    out = []
    for instructor in INSTRUCTORS:
        for weekday in draw(st.sets(st.integers(0, 6), max_size=7)):
            effective_from = draw(st.sampled_from([None, week + timedelta(days=2)]))
            for start, end in draw(day_windows()):
                out.append(
                    WorkingWindow(
                        instructor,
                        weekday,
                        minutes(start),
                        minutes(end),
                        location_id=draw(st.sampled_from((None, *LOCATIONS))),
                        modes=draw(modes),
                        effective_from=effective_from,
                    )
                )
    return out


@st.composite
def overrides(draw: st.DrawFn, week: date) -> list[DateOverride]:
    keys = draw(st.sets(st.tuples(st.sampled_from(INSTRUCTORS), st.integers(0, 6)), max_size=3))
    out = []
    for instructor, offset in keys:
        windows = [
            (minutes(s), minutes(e), draw(st.sampled_from((None, *LOCATIONS))), draw(modes))
            for s, e in draw(day_windows())[: draw(st.integers(0, 1))]
        ]
        out.append(DateOverride(instructor, week + timedelta(days=offset), tuple(windows)))
    return out


def moments_in(week: date, tz: ZoneInfo) -> st.SearchStrategy[datetime]:
    start = datetime.combine(week - timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return st.integers(0, 9 * 24 * 12).map(lambda n: start + timedelta(minutes=5 * n))


@st.composite
def time_off(draw: st.DrawFn, week: date, tz: ZoneInfo) -> list[TimeOff]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(moments_in(week, tz))
        length = timedelta(minutes=draw(st.sampled_from([15, 45, 90, 240, 1440, 2880])))
        who = draw(st.sampled_from((None, *INSTRUCTORS)))
        out.append(TimeOff(who, start, start + length))
    return out


@st.composite
def bookings(draw: st.DrawFn, week: date, tz: ZoneInfo, spec: AppointmentTypeSpec) -> list:
    out = []
    for n in range(draw(st.integers(0, 14))):
        same_type = draw(st.booleans())
        start = draw(moments_in(week, tz))
        length = spec.duration_minutes if same_type else draw(st.integers(3, 24)) * 5
        mode = draw(st.sampled_from([None, *LocationMode]))
        capacity = spec.capacity if same_type else 1
        out.append(
            BusyBooking(
                instructor_id=draw(st.sampled_from(INSTRUCTORS)),
                appointment_type_id=TYPE_ID if same_type else OTHER_TYPE_ID,
                start=start,
                end=start + timedelta(minutes=length),
                buffer_before_minutes=draw(st.sampled_from([0, 5, 15])),
                buffer_after_minutes=draw(st.sampled_from([0, 10, 30])),
                seats_taken=draw(st.integers(1, capacity)),
                capacity=capacity,
                location_mode=mode,
                location_id=draw(st.sampled_from(LOCATIONS))
                if mode is LocationMode.IN_PERSON
                else None,
                id=n,
            )
        )
    # Sometimes a second seat row for an existing session, to exercise adding them up.
    if out and spec.is_group and draw(st.booleans()):
        out.append(out[0]._replace(seats_taken=1, id=len(out)))
    return out


appointment_types = st.builds(
    AppointmentTypeSpec,
    id=st.just(TYPE_ID),
    duration_minutes=st.integers(3, 24).map(lambda n: n * 5),
    buffer_before_minutes=st.sampled_from([0, 5, 10, 30]),
    buffer_after_minutes=st.sampled_from([0, 5, 15]),
    capacity=st.sampled_from([1, 1, 4]),
    min_notice_hours=st.sampled_from([0, 0, 2, 24, 50]),
    max_advance_days=st.sampled_from([None, None, 1, 3, 6]),
    slot_step_minutes=st.sampled_from([5, 10, 15, 15, 20, 30, 45, 60]),
    location_modes=modes,
    location_ids=st.frozensets(st.sampled_from(LOCATIONS)),
)


@st.composite
def cases(draw: st.DrawFn, zones: tuple[str, ...] = (NEW_YORK, LONDON)) -> Case:
    tz_name = draw(st.sampled_from(zones))
    tz = ZoneInfo(tz_name)
    week = draw(st.sampled_from(WEEKS[tz_name]))
    spec = draw(appointment_types)
    school = SchoolCalendar(
        tz_name,
        windows=draw(weekly_hours(week)),
        overrides=draw(overrides(week)),
        time_off=draw(time_off(week, tz)),
        bookings=draw(bookings(week, tz, spec)),
        qualifications={TYPE_ID: draw(st.frozensets(st.sampled_from(INSTRUCTORS), min_size=1))},
    )
    mode = draw(st.sampled_from([None, None, *LocationMode]))
    location = None
    if mode in (None, LocationMode.IN_PERSON) and draw(st.booleans()):
        location = draw(st.sampled_from(LOCATIONS))
    query = SlotQuery(
        spec,
        week,
        week + timedelta(days=7),
        instructor_id=draw(st.sampled_from([None, None, *INSTRUCTORS])),
        location_mode=mode,
        location_id=location,
    )
    week_start = datetime.combine(week, time(0), tzinfo=tz)
    now = week_start - timedelta(minutes=5 * draw(st.integers(-2 * 24 * 12, 3 * 24 * 12)))
    return Case(school, query, now.astimezone(UTC), week)
