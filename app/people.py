"""People: CourseCove accounts (FAB's global ``ab_user`` rows), found and created one way.

Used by the admin panels, student sign-up, Clerk sync and the demo, so every account is
keyed by its lower-cased e-mail and gets a hashed password the same way.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_appbuilder.security.sqla.models import Role, User
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.tenancy import privileged

# Not a hash (no "$"), so werkzeug's check_password_hash refuses it at once: password sign-in
# is impossible, and unlike hashing a random secret it costs nothing (scrypt is ~50 ms, on
# the webhook fast path for every person Clerk creates).
NO_PASSWORD = "!no-password"


def hash_password(password: str) -> str:
    """The one way a password is hashed, with the method Flask-AppBuilder uses too
    (``FAB_PASSWORD_HASH_METHOD``: scrypt unless configured; the tests' is cheap)."""
    return generate_password_hash(
        password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
    )


def has_password(user: User) -> bool:
    """Whether password sign-in is possible for this account at all. The hash is read on the
    privileged connection: the application role cannot read password hashes (rls.py)."""
    with privileged():
        stored = db.session.scalar(sa.select(User.password).where(User.id == user.id))
    return bool(stored) and not stored.startswith("!")


def set_password(user: User, password: str) -> None:
    """Store a new password (privileged: the application role cannot write hashes) and end
    every session of the person made before it (app/security/sessions.py); the caller's
    transaction commits both."""
    from app.security.sessions import end_all_sessions

    with privileged():
        db.session.execute(
            sa.update(User)
            .where(User.id == user.id)
            .values(password=hash_password(password))
            .execution_options(synchronize_session=False)
        )
    end_all_sessions(user.id)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_person(email: str) -> User | None:
    email = normalise_email(email)
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))


def add_person(
    email: str,
    first_name: str,
    last_name: str,
    *,
    password_hash: str | None = None,
    username: str | None = None,
    roles: list[Role] | None = None,
) -> User:
    """A new active account in the current transaction (flushed, so it has an id).

    Without a password, password sign-in is impossible: the person signs in through Clerk,
    or chooses one through a link mailed to the address (``app.accounts``). Only the demo
    loader passes one, ``hash_password()``'s, hashed once for all its accounts."""
    email = normalise_email(email)
    user = User(
        username=username or email,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        active=True,
        password=password_hash or NO_PASSWORD,
        roles=roles or [],
    )
    db.session.add(user)
    db.session.flush()
    return user
