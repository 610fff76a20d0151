"""A time budget for database work: no statement may run past the deadline.

Inside ``time_budget(deadline)`` no statement starts once the deadline has passed, and each
transaction runs under ``SET LOCAL statement_timeout = <milliseconds left>``, renewed when
more than ``RENEW_AFTER_S`` has gone by since it was set (so a statement can overshoot the
deadline by at most that much, while a quick transaction pays for one extra round trip, not
one per statement). A lock wait or a slow query therefore ends the work at the deadline
instead of holding the webhook's HTTP response.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

RENEW_AFTER_S = 0.02
_SET_AT = "coursecove_statement_timeout_set_at"
# A failed transaction's way out, and savepoint bookkeeping, are never refused.
_EXEMPT = ("ROLLBACK", "RELEASE", "SAVEPOINT")

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


@event.listens_for(Engine, "before_cursor_execute")
def _limit_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    deadline = _deadline.get()
    if deadline is None or statement.startswith(_EXEMPT):
        return
    now = time.perf_counter()
    if now >= deadline:
        raise BudgetExceeded("the time budget ran out")
    set_at = conn.info.get(_SET_AT)
    if set_at is None or now - set_at > RENEW_AFTER_S:
        # Transaction-local, like the tenant setting: a pooled connection never keeps it.
        cursor.execute(f"SET LOCAL statement_timeout = {max(1, int((deadline - now) * 1000))}")
        conn.info[_SET_AT] = now


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
@event.listens_for(Engine, "rollback_savepoint")  # it undoes a SET LOCAL made inside it
def _setting_gone(conn, *args) -> None:
    conn.info.pop(_SET_AT, None)


@event.listens_for(Pool, "reset")
def _connection_reset(dbapi_connection, connection_record, reset_state=None) -> None:
    connection_record.info.pop(_SET_AT, None)
