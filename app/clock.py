"""The application's one source of "now".

Everything that asks what time it is (the booking service, pages, tasks, the demo, identity
sync) calls ``now()``, so that a test, or a whole test run, can say when it is:

- ``set_now(instant)`` freezes the clock in this process (tests use the ``clock`` fixture);
- ``COURSECOVE_CLOCK=2027-03-14T06:30:00Z`` in the environment freezes it in a process from
  its start, so that servers and workers a test starts in other processes agree with it.

Unpinned, it is the wall clock in UTC. Times that only measure durations (time budgets,
timeouts) use ``time.monotonic()`` instead and are not affected; nor are the database's own
``now()`` defaults used for leases between processes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

ENVIRONMENT_VARIABLE = "COURSECOVE_CLOCK"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset (``Z`` allowed), as an aware UTC datetime."""
    instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write it like 2027-03-14T06:30:00Z")
    return instant.astimezone(UTC)


_pinned: datetime | None = (
    parse_instant(os.environ[ENVIRONMENT_VARIABLE])
    if os.environ.get(ENVIRONMENT_VARIABLE)
    else None
)


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return _pinned if _pinned is not None else datetime.now(UTC)


def set_now(instant: datetime | None) -> None:
    """Freeze the clock at ``instant`` (aware); ``None`` returns to the wall clock."""
    global _pinned
    if instant is not None and instant.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _pinned = None if instant is None else instant.astimezone(UTC)


def pinned() -> datetime | None:
    """The frozen instant, if any (what a test passes on to the processes it starts)."""
    return _pinned
