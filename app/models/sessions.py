"""Account secrets: how many times a person's sessions were ended (sign-out, password
change), and password hashes that ordinary queries never load."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import Mapped, deferred, mapped_column


class SessionVersion(Model):
    """A signed session cookie is valid only while it carries the person's current version;
    signing out or changing the password raises it, ending every session made before."""

    __tablename__ = "session_versions"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")


def defer_password_hashes() -> None:
    """``User.password`` is loaded only when asked for: the application role may not read
    password hashes (app/tenancy/rls.py), so no ordinary query of users may select them.
    Only the privileged connection reads one (sign-in, ``app.people.password_matches``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SADeprecationWarning)
        User.__mapper__.add_property("password", deferred(User.__table__.c.password))


defer_password_hashes()
