"""The time budget: a statement is cancelled at the deadline, and none starts after it."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from psycopg import errors as pg_errors
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.identity.budget import BudgetExceeded, time_budget
from app.tenancy import privileged


@pytest.fixture
def session(app):
    with app.app_context(), privileged():
        yield db.session
        db.session.rollback()


def test_slow_statement_is_cancelled_at_the_deadline(session):
    started = time.perf_counter()
    with pytest.raises(OperationalError) as caught, time_budget(started + 0.2):
        session.execute(sa.text("SELECT pg_sleep(3)"))
    elapsed = time.perf_counter() - started
    assert isinstance(caught.value.orig, pg_errors.QueryCanceled), f"got {caught.value.orig!r}"
    assert elapsed < 0.5, f"expected the cancel at ~0.2 s, took {elapsed:.2f} s"


def test_statements_after_the_deadline_do_not_start(session):
    with pytest.raises(BudgetExceeded), time_budget(time.perf_counter() - 0.001):
        session.execute(sa.text("SELECT 1"))


def test_later_statements_of_a_transaction_get_only_what_is_left(session):
    started = time.perf_counter()
    with time_budget(started + 0.3):
        session.execute(sa.text("SELECT pg_sleep(0.15)"))
        with pytest.raises(OperationalError):
            session.execute(sa.text("SELECT pg_sleep(1)"))  # 0.15 s left, not 0.3 s
    elapsed = time.perf_counter() - started
    assert elapsed < 0.45, f"expected the whole budget kept to ~0.3 s, took {elapsed:.2f} s"


def test_the_limit_does_not_outlive_the_budget(session):
    with time_budget(time.perf_counter() + 0.5):
        session.execute(sa.text("SELECT 1"))
    session.commit()
    session.execute(sa.text("SELECT pg_sleep(0.6)"))  # a new transaction, no budget
    timeout = session.execute(sa.text("SHOW statement_timeout")).scalar()
    assert timeout == "0", f"expected no statement timeout outside the budget, got {timeout}"
