"""Account pages on every site: open an invitation or sign-up link, forgot/reset password.

Thin: parse, call ``app.accounts.service``, render. Each link works only on the site (school
subdomain or platform) it was sent for.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request
from flask_login import current_user, login_user, logout_user

from app.accounts import service
from app.accounts.forms import ButtonForm, ChoosePasswordForm, ForgotPasswordForm, form_problem
from app.accounts.service import AccountProblem
from app.extensions import db, limiter
from app.models import InvitationPurpose
from app.people import has_password
from app.tenancy import current_org

bp = Blueprint("accounts", __name__)


def render(template: str, status: int = 200, **context):
    g.setdefault("user", current_user)  # FAB's navbar reads g.user
    appbuilder = current_app.appbuilder
    return render_template(
        template,
        appbuilder=appbuilder,
        base_template=appbuilder.base_template,
        school=current_org(),
        **context,
    ), status


@bp.errorhandler(AccountProblem)
def show_problem(problem: AccountProblem):
    db.session.rollback()
    return render("accounts/problem.html", status=problem.status, message=problem.message)


def _sign_in(user) -> None:
    if current_user.is_authenticated:
        logout_user()
    login_user(user, remember=False)


@bp.route("/welcome/<token>", methods=["GET", "POST"])
@limiter.limit("30/hour", methods=["POST"])
def welcome(token: str):
    school = current_org()
    if school is None:
        raise AccountProblem("Invitation links open on the school's own site.", 404)
    invitation = service.open_invitation(school, token)
    user = invitation.user
    needs_password = not has_password(user)
    form = ChoosePasswordForm() if needs_password else ButtonForm()
    problem = None
    if form.validate_on_submit():
        password = form.password.data if needs_password else None
        purpose = invitation.purpose
        service.accept_invitation(school, invitation, password)
        landing = "/book/" if purpose == InvitationPurpose.SIGNUP else "/"
        if needs_password:
            _sign_in(user)
            flash(f"Welcome to {school.name}! Your password is set.", "success")
            return redirect(landing)
        flash(f"You have joined {school.name}. Sign in with your CourseCove password.", "success")
        return redirect(current_app.appbuilder.get_url_for_login_with(landing))
    if request.method == "POST":
        problem = form_problem(form)
    return render(
        "accounts/welcome.html",
        status=400 if problem else 200,
        form=form,
        invitation=invitation,
        needs_password=needs_password,
        problem=problem,
        role_words=service.ROLE_WORDS[invitation.role],
    )


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        service.request_reset(current_org(), form.email.data)
        return render("accounts/reset_sent.html", email=form.email.data)
    problem = form_problem(form) if request.method == "POST" else None
    return render(
        "accounts/forgot.html", status=400 if problem else 200, form=form, problem=problem
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit("30/hour", methods=["POST"])
def reset_password(token: str):
    school = current_org()
    reset = service.open_reset(school, token)
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        user = service.complete_reset(school, reset, form.password.data)
        _sign_in(user)
        flash("Your new password is set and you are signed in.", "success")
        return redirect("/")
    problem = form_problem(form) if request.method == "POST" else None
    return render(
        "accounts/reset.html",
        status=400 if problem else 200,
        form=form,
        problem=problem,
        email=reset.user.email,
    )
