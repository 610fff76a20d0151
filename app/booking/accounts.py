"""Signing up on a school's subdomain: the new account becomes that school's student.

Someone who already has a CourseCove account (a student elsewhere) joins with that
account's password instead of creating a second one.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, redirect, request
from flask_login import login_user
from werkzeug.security import check_password_hash

from app.booking.forms import SignupForm
from app.booking.views import bp, render
from app.extensions import db, limiter
from app.models import Membership, MembershipRole
from app.people import add_person, find_person, normalise_email
from app.security.redirects import safe_next
from app.tenancy import current_membership, current_org


def _safe_next() -> str:
    return safe_next(request.args.get("next"), "/book/")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("20/hour", methods=["POST"])
def signup():
    if current_membership() is not None:
        return redirect(_safe_next())
    form = SignupForm()
    problem = None
    if form.validate_on_submit():
        problem = _join(form)
        if problem is None:
            return redirect(_safe_next())
    elif request.method == "POST":
        problem = (
            " ".join(
                f"{form[name].label.text}: {errors[0]}"
                for name, errors in form.errors.items()
                if name in form
            )
            or "Please check the form."
        )
    status = 400 if problem else 200
    return render(
        "booking/signup.html", status=status, form=form, signup_problem=problem, next=_safe_next()
    )


def _join(form: SignupForm) -> str | None:
    """Create the account (or reuse it) and the student membership; sign in. None = done."""
    school = current_org()
    email = normalise_email(form.email.data)
    user = find_person(email)
    if user is not None:
        if not user.password or not check_password_hash(user.password, form.password.data):
            return (
                "There is already an account with this email. Sign in instead, or use that "
                "account's password here to join this school."
            )
        if not user.active:
            return "This account is switched off; please contact the school."
    else:
        user = add_person(
            email, form.first_name.data, form.last_name.data, password=form.password.data
        )
    existing = db.session.scalar(
        sa.select(Membership).where(
            Membership.organization_id == school.id, Membership.user_id == user.id
        )
    )
    if existing is None:
        db.session.add(
            Membership(organization_id=school.id, user_id=user.id, role=MembershipRole.STUDENT)
        )
    elif not existing.active:
        return "Your place at this school is switched off; please contact the school."
    db.session.commit()
    login_user(user, remember=False)
    current_app.logger.info("%s joined %s as a student", email, school.subdomain)
    return None
