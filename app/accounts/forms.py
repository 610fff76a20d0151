"""Forms of the account pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


class ChoosePasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(message="Choose a password."),
            Length(min=8, max=128, message="Use 8 to 128 characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )


class ButtonForm(FlaskForm):
    """A button that changes something: nothing to type, only the CSRF token."""


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ForgotPasswordForm(FlaskForm):
    email = StringField(
        "E-mail address",
        filters=[strip],
        validators=[DataRequired(message="Enter your e-mail address."), Email(), Length(max=254)],
    )


def form_problem(form: FlaskForm) -> str:
    """The form's errors as one sentence a person can act on."""
    return (
        " ".join(
            f"{form[name].label.text}: {errors[0]}"
            for name, errors in form.errors.items()
            if name in form
        )
        or "Please check the form."
    )
