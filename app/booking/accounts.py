"""Signing up on a school's subdomain: the address is proven before anything is usable.

The form asks for a name and an e-mail address only; the page then says "check your e-mail"
whoever owns the address. The mailed link (``app.accounts``) lets the owner choose a password
and makes them a student of this school; an existing account joins with its own password.
"""

from __future__ import annotations

from flask import redirect, request

from app.accounts import service as accounts
from app.accounts.forms import form_problem
from app.booking.forms import SignupForm
from app.booking.views import bp, render
from app.extensions import db, limiter
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
    if form.validate_on_submit():
        _join(form)
        return render("booking/signup_sent.html", email=form.email.data)
    problem = form_problem(form) if request.method == "POST" else None
    status = 400 if problem else 200
    return render(
        "booking/signup.html", status=status, form=form, signup_problem=problem, next=_safe_next()
    )


def _join(form: SignupForm) -> None:
    """Mail the address a link to join this school (nothing is usable before it is opened)."""
    accounts.sign_up(current_org(), form.email.data, form.first_name.data, form.last_name.data)
    db.session.commit()
