"""Fixtures for the fault tests: the booking tests' schools, slots and clean-up, and a Redis
server of the test's own that it may kill (``engines.py``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.booking.conftest import (  # noqa: F401 (the booking tests' fixtures, shared)
    free_slots,
    music,
    owner,
    rows_written,
    schools,
    yoga,
)
from tests.reliability.engines import RedisServer


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """A ``redis-server`` only this module's servers use, so a test can take it away."""
    workdir = Path(tempfile.mkdtemp(prefix="coursecove-faults-redis-"))
    server = RedisServer(workdir)
    server.start()
    yield server
    server.kill()
    shutil.rmtree(workdir, ignore_errors=True)
