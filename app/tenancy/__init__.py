"""Tenancy: the one place that decides which school a request, task or transaction belongs to.

- ``context``: the current organization and the privileged switch (context variables).
- ``session``: the SQLAlchemy session that routes to the application role or the privileged
  connection and sets ``app.current_org`` at the start of every transaction (RLS).
- ``hosts``: finding the organization from the Host header.
- ``views``: the tenant-scoped Flask-AppBuilder base view every school view inherits.
- ``security``: roles on a request come from the membership in the current school.
"""

from app.tenancy.context import (
    current_membership,
    current_org,
    current_org_id,
    privileged,
    tenant,
)

__all__ = ["current_org", "current_org_id", "current_membership", "privileged", "tenant"]
