"""How many times a person's sessions have been ended (sign-out, password change)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column


class SessionVersion(Model):
    """A signed session cookie is valid only while it carries the person's current version;
    signing out or changing the password raises it, ending every session made before."""

    __tablename__ = "session_versions"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
