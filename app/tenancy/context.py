"""Who the current work is for: the school (tenant) and whether it may bypass RLS.

Both live in context variables so a web request, a Celery task and a CLI command use the
same mechanism. ``privileged()`` is the only way to reach the privileged connection; grep for
it to review every place that bypasses Row-Level Security.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from flask import g, has_request_context

if TYPE_CHECKING:
    from app.models import Membership, Organization

_current_org_id: ContextVar[int | None] = ContextVar("current_org_id", default=None)
_privileged: ContextVar[bool] = ContextVar("privileged", default=False)


def current_org_id() -> int | None:
    return _current_org_id.get()


def is_privileged() -> bool:
    return _privileged.get()


def current_org() -> Organization | None:
    """The school of this request (``None`` on the platform domain)."""
    if has_request_context():
        return g.get("organization")
    org_id = current_org_id()
    if org_id is None:
        return None
    from app.extensions import db
    from app.models import Organization

    return db.session.get(Organization, org_id)


def current_membership() -> Membership | None:
    """The signed-in user's membership in the current school, if any."""
    return g.get("membership") if has_request_context() else None


def _end_open_transaction(*, commit: bool = True) -> None:
    # The tenant is applied when a transaction begins, so switching it must not happen
    # in the middle of one.
    from app.extensions import db

    if db.session().in_transaction():
        db.session.commit() if commit else db.session.rollback()


@contextmanager
def tenant(org_id: int | None) -> Iterator[None]:
    """Scope the enclosed work (and every transaction it begins) to one school.

    Work left open inside is committed when the block ends normally and rolled back when it
    raises, so a failure never leaves half of it written."""
    _end_open_transaction()
    token = _current_org_id.set(org_id)
    try:
        yield
    except BaseException:
        _end_open_transaction(commit=False)
        raise
    else:
        _end_open_transaction()
    finally:
        _current_org_id.reset(token)


def set_request_tenant(org_id: int | None) -> None:
    """Bind the tenant for the rest of a web request (reset in ``reset_request_tenant``)."""
    _end_open_transaction()
    g._tenant_token = _current_org_id.set(org_id)


def reset_request_tenant() -> None:
    token = g.pop("_tenant_token", None)
    if token is not None:
        _current_org_id.reset(token)
    privilege_token = g.pop("_privileged_token", None)
    if privilege_token is not None:
        _privileged.reset(privilege_token)


def set_request_privileged(allowed: bool) -> None:
    """Decide, once per request, whether it may use the privileged connection.

    Set explicitly either way, so a request never inherits privilege from its caller."""
    g._privileged_token = _privileged.set(allowed)


@contextmanager
def privileged() -> Iterator[None]:
    """Use the privileged (table-owner) connection: migrations, demo, webhooks, tasks."""
    token = _privileged.set(True)
    try:
        yield
    finally:
        _privileged.reset(token)
