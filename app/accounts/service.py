"""Account flows: who gets which link, what a link allows, and every write they make.

- An account has a usable password only if its owner chose it on a page reached through a
  link mailed to its address (or, before this rule, it was set otherwise; see
  docs/accounts.md). An account without one cannot sign in anywhere.
- Adding an address that already has an account never changes or reveals its password: the
  person is added and told by e-mail.
- Links are single-use, expire, and work only on the site (school or platform) they were
  sent for; only a SHA-256 of each token is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app import clock
from app.accounts.mail import send_account_email, site_url
from app.extensions import db
from app.models import (
    Invitation,
    InvitationPurpose,
    Membership,
    MembershipRole,
    Organization,
    PasswordReset,
    User,
)
from app.people import add_person, find_person, has_password, normalise_email, set_password
from app.tenancy import tenant

ROLE_WORDS = {
    MembershipRole.ADMIN: "an administrator",
    MembershipRole.INSTRUCTOR: "an instructor",
    MembershipRole.STUDENT: "a student",
}


class AccountProblem(Exception):
    """A link or request that cannot be used; ``message`` is for the person, ``status`` HTTP."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _ttl(key: str) -> timedelta:
    return timedelta(minutes=int(current_app.config[key]))


def _valid_for(ttl: timedelta) -> str:
    minutes = int(ttl.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
    return f"{minutes} minutes"


# --- joining a school: admins, the platform, sign-up ---------------------------------------


@dataclass(frozen=True)
class Welcome:
    user: User
    message: str  # what the admin (or the platform) is told


def welcome(
    school: Organization,
    email: str,
    first_name: str,
    last_name: str,
    role: MembershipRole,
    *,
    invited_by: User | None,
) -> Welcome:
    """Find or create the person for a new membership and tell them by e-mail.

    The caller adds the membership in the same transaction. A new account gets no password:
    the invitation link lets its owner choose one. An existing account keeps its password
    and its name; its owner is told they were added."""
    email = normalise_email(email)
    user = find_person(email)
    if user is not None and _member_id(school, user) is not None:
        raise AccountProblem(f"{email} is already a member of this school.", 409)
    if user is None:
        user = add_person(email, first_name, last_name)
    if has_password(user):
        _tell_added(school, user, role)
        return Welcome(
            user,
            f"{email} already has a CourseCove account; they have been added as "
            f"{ROLE_WORDS[role]} and told by e-mail.",
        )
    invitation = _invite(school, user, role, InvitationPurpose.INVITATION, invited_by)
    return Welcome(
        user,
        f"Invitation sent to {email}: they choose their own password through the link, "
        f"which works for {_valid_for(_ttl('INVITATION_TTL_MINUTES'))}"
        + (" (pending until they do)." if invitation else "."),
    )


def add_member(
    school: Organization,
    email: str,
    first_name: str,
    last_name: str,
    role: MembershipRole,
    *,
    invited_by: User | None,
) -> Welcome:
    """``welcome`` plus the membership itself (the platform's "school with its first admin")."""
    done = welcome(school, email, first_name, last_name, role, invited_by=invited_by)
    db.session.add(Membership(organization_id=school.id, user_id=done.user.id, role=role))
    db.session.flush()
    return done


def resend(school: Organization, membership: Membership, *, invited_by: User | None) -> str:
    """Send a person's invitation again (a new link; the old one stops working)."""
    user = membership.user
    if has_password(user):
        return f"{user.email} has already chosen a password; nothing to send."
    _invite(school, user, membership.role, InvitationPurpose.INVITATION, invited_by)
    return f"A new invitation link was sent to {user.email}."


def sign_up(school: Organization, email: str, first_name: str, last_name: str) -> None:
    """Someone asked to join ``school`` as a student with ``email``: mail that address a link.

    Nothing becomes usable until the link is opened, so the answer is the same whoever
    owns the address (and says nothing about whether it has an account)."""
    email = normalise_email(email)
    user = find_person(email)
    if user is None:
        user = add_person(email, first_name, last_name)
    elif not user.active:
        return
    membership_id = _member_id(school, user)
    if membership_id is not None:
        _tell_already_member(school, user)
        return
    _invite(school, user, MembershipRole.STUDENT, InvitationPurpose.SIGNUP, None)


def _invite(
    school: Organization,
    user: User,
    role: MembershipRole,
    purpose: InvitationPurpose,
    invited_by: User | None,
) -> Invitation:
    """Create or renew the person's pending link to this school, and mail it."""
    now = clock.now()
    ttl = _ttl(
        "SIGNUP_TTL_MINUTES" if purpose == InvitationPurpose.SIGNUP else "INVITATION_TTL_MINUTES"
    )
    token, token_hash = new_token()
    invitation = db.session.scalar(
        sa.select(Invitation).where(
            Invitation.organization_id == school.id,
            Invitation.user_id == user.id,
            Invitation.purpose == purpose.value,
            Invitation.accepted_at.is_(None),
        )
    )
    if invitation is None:
        invitation = Invitation(
            organization_id=school.id,
            user_id=user.id,
            role=role,
            purpose=purpose.value,
            invited_by_id=invited_by.id if invited_by else None,
            send_count=0,
        )
        db.session.add(invitation)
    invitation.role = role
    invitation.token_hash = token_hash
    invitation.sent_at = now
    invitation.expires_at = now + ttl
    invitation.send_count = (invitation.send_count or 0) + 1
    db.session.flush()
    link = site_url(school.subdomain, f"/welcome/{token}")
    if purpose == InvitationPurpose.SIGNUP:
        subject = f"Confirm your e-mail to join {school.name}"
        lines = [
            f"Hello {user.first_name},",
            "",
            f"Someone (we hope you) asked to join {school.name} on CourseCove with this",
            "address.",
            "Open this link to confirm it and choose your password:",
            "",
            link,
            "",
            f"The link works once, for {_valid_for(ttl)}. If it was not you, ignore this",
            "e-mail: nothing happens without the link.",
        ]
    else:
        inviter = f"{invited_by.first_name} {invited_by.last_name}".strip() if invited_by else ""
        subject = f"You are invited to {school.name} on CourseCove"
        lines = [
            f"Hello {user.first_name},",
            "",
            f"{inviter or school.name} added you to {school.name} as {ROLE_WORDS[role]}.",
            "Open this link to choose your password and sign in:",
            "",
            link,
            "",
            f"The link works once, for {_valid_for(ttl)}. If it has expired, ask {school.name}",
            "to send it again.",
        ]
    send_account_email(
        to=user.email, subject=subject, text="\n".join(lines), organization_id=school.id
    )
    return invitation


def _tell_added(school: Organization, user: User, role: MembershipRole) -> None:
    send_account_email(
        to=user.email,
        subject=f"You have been added to {school.name}",
        text="\n".join(
            [
                f"Hello {user.first_name},",
                "",
                f"{school.name} added you as {ROLE_WORDS[role]}. Sign in with your CourseCove",
                "account (its password has not changed):",
                "",
                site_url(school.subdomain, "/login/"),
                "",
                f"Forgot it? {site_url(school.subdomain, '/forgot-password')}",
            ]
        ),
        organization_id=school.id,
    )


def _tell_already_member(school: Organization, user: User) -> None:
    send_account_email(
        to=user.email,
        subject=f"You already have a place at {school.name}",
        text="\n".join(
            [
                f"Hello {user.first_name},",
                "",
                f"Someone asked to join {school.name} with this address, which already has",
                "a place there. Sign in:",
                "",
                site_url(school.subdomain, "/login/"),
                "",
                f"Forgot your password? {site_url(school.subdomain, '/forgot-password')}",
            ]
        ),
        organization_id=school.id,
    )


def _member_id(school: Organization, user: User) -> int | None:
    return db.session.scalar(
        sa.select(Membership.id).where(
            Membership.organization_id == school.id, Membership.user_id == user.id
        )
    )


def pending_invitation(school_id: int, user_id: int) -> Invitation | None:
    return db.session.scalar(
        sa.select(Invitation)
        .where(
            Invitation.organization_id == school_id,
            Invitation.user_id == user_id,
            Invitation.accepted_at.is_(None),
        )
        .order_by(Invitation.sent_at.desc())
        .limit(1)
    )


# --- opening a link -------------------------------------------------------------------------


def open_invitation(school: Organization, token: str) -> Invitation:
    """The invitation behind ``token`` on this school's site, or an AccountProblem."""
    invitation = db.session.scalar(
        sa.select(Invitation).where(
            Invitation.organization_id == school.id, Invitation.token_hash == hash_token(token)
        )
    )
    if invitation is None:
        raise AccountProblem(
            "This link is not valid here. A link works only on the site it was sent for, and "
            "only the newest one sent to you.",
            404,
        )
    if invitation.accepted_at is not None:
        raise AccountProblem(
            "This link has already been used. Sign in, or use “Forgot password?” on the "
            "sign-in page.",
            410,
        )
    if invitation.is_expired():
        again = (
            "Sign up again to get a new link."
            if invitation.purpose == InvitationPurpose.SIGNUP
            else f"Ask {school.name} to send you a new one."
        )
        raise AccountProblem(f"This link has expired. {again}", 410)
    membership = _membership(school, invitation.user)
    if membership is None and invitation.purpose == InvitationPurpose.INVITATION:
        # The school removed the person after inviting them: the link is withdrawn with it.
        raise AccountProblem(
            f"This invitation was withdrawn by {school.name}. Ask them if this is a mistake.", 410
        )
    if not invitation.user.active or (membership is not None and not membership.active):
        raise AccountProblem(
            f"Your place at {school.name} is switched off; please contact the school.", 403
        )
    return invitation


def accept_invitation(school: Organization, invitation: Invitation, password: str | None) -> User:
    """Use the link: join the school (sign-up) and set the password if the account has none.

    Commits. An account that already has a password keeps it (``password`` is ignored)."""
    user = invitation.user
    if not has_password(user):
        if not password:
            raise AccountProblem("Choose a password.", 400)
        set_password(user, password)
    if _membership(school, user) is None:
        db.session.add(Membership(organization_id=school.id, user_id=user.id, role=invitation.role))
    invitation.accepted_at = clock.now()
    # Any other pending link of this person to this school is spent too.
    for other in db.session.scalars(
        sa.select(Invitation).where(
            Invitation.organization_id == school.id,
            Invitation.user_id == user.id,
            Invitation.accepted_at.is_(None),
        )
    ):
        other.accepted_at = invitation.accepted_at
    db.session.commit()
    current_app.logger.info("%s accepted a link to %s", user.email, school.subdomain)
    return user


def _membership(school: Organization, user: User) -> Membership | None:
    return db.session.scalar(
        sa.select(Membership).where(
            Membership.organization_id == school.id, Membership.user_id == user.id
        )
    )


# --- forgot password ------------------------------------------------------------------------


def request_reset(school: Organization | None, email: str) -> None:
    """Mail a reset link if ``email`` can sign in on this site; otherwise do nothing.

    The answer to the person is the same either way. Commits."""
    user = find_person(normalise_email(email)) if email else None
    if user is None or not user.active or not _may_use_site(school, user):
        return
    token, token_hash = new_token()
    ttl = _ttl("PASSWORD_RESET_TTL_MINUTES")
    db.session.add(
        PasswordReset(
            user_id=user.id,
            school_id=school.id if school else None,
            token_hash=token_hash,
            expires_at=clock.now() + ttl,
        )
    )
    site = school.name if school else "CourseCove"
    link = site_url(school.subdomain if school else None, f"/reset-password/{token}")
    send_account_email(
        to=user.email,
        subject=f"Choose a new password for {site}",
        text="\n".join(
            [
                f"Hello {user.first_name},",
                "",
                "Someone (we hope you) asked to reset the password of this CourseCove",
                f"account on {site}. Open this link to choose a new one:",
                "",
                link,
                "",
                f"The link works once, for {_valid_for(ttl)}. If it was not you, ignore",
                "this e-mail: your password stays as it is.",
            ]
        ),
        organization_id=school.id if school else None,
    )
    db.session.commit()


def _may_use_site(school: Organization | None, user: User) -> bool:
    if school is None:
        admin_role = current_app.config["AUTH_ROLE_ADMIN"]
        return any(role.name == admin_role for role in user.roles)
    membership = _membership(school, user)
    if membership is not None:
        return membership.active
    return pending_invitation(school.id, user.id) is not None


def open_reset(school: Organization | None, token: str) -> PasswordReset:
    same_site = (
        PasswordReset.school_id == school.id if school else PasswordReset.school_id.is_(None)
    )
    reset = db.session.scalar(
        sa.select(PasswordReset).where(PasswordReset.token_hash == hash_token(token), same_site)
    )
    if reset is None:
        raise AccountProblem(
            "This link is not valid here. A reset link works only on the site where it was "
            "asked for.",
            404,
        )
    if reset.used_at is not None:
        raise AccountProblem(
            "This link has already been used. Ask for a new one with “Forgot password?”.", 410
        )
    if reset.is_expired() or not reset.user.active:
        raise AccountProblem(
            "This link has expired. Ask for a new one with “Forgot password?”.", 410
        )
    return reset


def complete_reset(school: Organization | None, reset: PasswordReset, password: str) -> User:
    """Set the new password; this and every other open reset link of the person is spent."""
    user = reset.user
    set_password(user, password)
    now = clock.now()
    for open_link in db.session.scalars(
        sa.select(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)
        )
    ):
        open_link.used_at = now
    db.session.commit()
    current_app.logger.info("%s chose a new password", user.email)
    return user


# --- the platform: a school with its first admin --------------------------------------------


def create_school_admin(
    school: Organization, email: str, first_name: str, last_name: str, *, invited_by: User | None
) -> Welcome:
    """Make ``email`` the first admin of a school the platform just saved. Commits."""
    with tenant(school.id):
        school = db.session.get(Organization, school.id)
        return add_member(
            school, email, first_name, last_name, MembershipRole.ADMIN, invited_by=invited_by
        )
