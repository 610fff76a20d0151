"""``tenant()`` finishes the work it scoped: committed on success, rolled back on failure."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Location
from app.tenancy import privileged, tenant


def _locations_named(name: str) -> int:
    with privileged():
        count = db.session.scalar(
            select(func.count()).select_from(Location).where(Location.name == name)
        )
        db.session.rollback()
    return count


def test_work_inside_a_failing_tenant_block_is_rolled_back(app_context, org_ids):
    with pytest.raises(RuntimeError), tenant(org_ids["musicschool"]):
        db.session.add(Location(organization_id=org_ids["musicschool"], name="Half-written hall"))
        db.session.flush()
        raise RuntimeError("something went wrong midway")

    assert _locations_named("Half-written hall") == 0


def test_work_inside_a_successful_tenant_block_is_committed(app_context, org_ids):
    with tenant(org_ids["musicschool"]):
        db.session.add(Location(organization_id=org_ids["musicschool"], name="Finished hall"))

    assert _locations_named("Finished hall") == 1
