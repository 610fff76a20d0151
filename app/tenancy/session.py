"""The SQLAlchemy session behind ``db.session``.

It picks the application role's engine unless ``privileged()`` is active, and at the start of
every transaction on every connection it runs
``set_config('app.current_org', <id or ''>, true)``: transaction-local, so a pooled
connection never carries one school's setting into the next request.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.session import Session
from sqlalchemy import event

from app.tenancy.context import current_org_id, is_privileged

APP_BIND = "app"
SET_TENANT = sa.text("SELECT set_config('app.current_org', :org, true)")


class TenantRoutingSession(Session):
    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any):
        if bind is not None:
            return bind
        engines = self._db.engines
        if is_privileged() or APP_BIND not in engines:
            return engines[None]
        return engines[APP_BIND]


@event.listens_for(TenantRoutingSession, "after_begin")
def _apply_tenant(session: Session, transaction: Any, connection: sa.Connection) -> None:
    org_id = current_org_id()
    connection.execute(SET_TENANT, {"org": "" if org_id is None else str(org_id)})
