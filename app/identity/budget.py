"""A time budget for database work: every statement gets only the time that is left.

Inside ``time_budget(deadline)`` each statement on any engine is preceded by
``SET LOCAL statement_timeout = <milliseconds left>``, and no statement starts once the
deadline has passed. So a lock wait or a slow query ends the work at the deadline (give or
take a round trip) instead of holding the webhook's HTTP response.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

_deadline: ContextVar[float | None] = ContextVar("db_deadline", default=None)


class BudgetExceeded(Exception):
    """The time budget ran out before the work was done."""


@contextmanager
def time_budget(deadline: float) -> Iterator[None]:
    """Bound the enclosed database work by ``deadline`` (a ``time.perf_counter()`` value)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def milliseconds_left() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else (deadline - time.perf_counter()) * 1000


@event.listens_for(Engine, "before_cursor_execute")
def _limit_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    left = milliseconds_left()
    if left is None or statement.startswith("ROLLBACK"):  # a failed transaction's way out
        return
    if left < 1:
        raise BudgetExceeded("the time budget ran out")
    # Transaction-local, like the tenant setting: a pooled connection never keeps it.
    cursor.execute(f"SET LOCAL statement_timeout = {int(left)}")
