"""Sessions that end: signing out, or changing the password, ends every session of that
person made before, including copies of the cookie.

Flask's session is a signed cookie, so the server cannot delete it; instead each cookie
carries the person's session version, and loading the user refuses a cookie whose version
is not the current one (``SchoolSecurityManager.load_user``). A cookie without a version
(made before this existed, or forged with a leaked key) is refused too.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, session
from flask_login import user_logged_in, user_logged_out
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.models import SessionVersion

SESSION_KEY = "_session_version"


def current_version(user_id: int) -> int:
    version = db.session.scalar(
        sa.select(SessionVersion.version).where(SessionVersion.user_id == user_id)
    )
    return version or 0


def is_current(user_id: int) -> bool:
    """Does this request's cookie carry the person's current session version?"""
    return session.get(SESSION_KEY) == current_version(user_id)


def end_all_sessions(user_id: int) -> int:
    """Raise the person's version (committed by the caller's transaction); the new one."""
    statement = (
        insert(SessionVersion)
        .values(user_id=user_id, version=1)
        .on_conflict_do_update(
            index_elements=[SessionVersion.user_id],
            set_={"version": SessionVersion.version + 1},
        )
        .returning(SessionVersion.version)
    )
    return db.session.execute(statement).scalar_one()


def _remember_version(sender, user, **extra) -> None:
    session[SESSION_KEY] = current_version(user.id)


def _end_sessions(sender, user, **extra) -> None:
    if not getattr(user, "is_authenticated", False):
        return
    end_all_sessions(user.id)
    db.session.commit()
    session.pop(SESSION_KEY, None)


def init_app(app: Flask) -> None:
    user_logged_in.connect(_remember_version, app)
    user_logged_out.connect(_end_sessions, app)
