"""Forms of the booking pages (Flask-WTF, so every POST carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from app.accounts.forms import strip
from app.scheduling import MAX_SERIES_LESSONS


class ConfirmForm(FlaskForm):
    student = SelectField("Student", coerce=int, validate_choice=False, validators=[Optional()])
    notes = TextAreaField(
        "Notes for the instructor (optional)", validators=[Optional(), Length(max=2000)]
    )
    address = StringField("Address for the lesson", validators=[Optional(), Length(max=500)])
    repeat = SelectField(
        "Repeat",
        choices=[
            ("", "Just this once"),
            ("weeks", "Every week, for a number of weeks"),
            ("until", "Every week, until a date"),
        ],
        validate_choice=True,
        default="",
    )
    weeks = IntegerField(
        "Number of weeks",
        validators=[
            Optional(),
            NumberRange(1, MAX_SERIES_LESSONS, f"Choose 1 to {MAX_SERIES_LESSONS} weeks."),
        ],
    )
    until = DateField("Until (last date)", validators=[Optional()])


class CancelForm(FlaskForm):
    reason = StringField("Reason (optional)", validators=[Optional(), Length(max=500)])
    scope = SelectField(
        "What to cancel",
        choices=[("this", "Only this lesson"), ("following", "This and all later lessons")],
        default="this",
    )


class RescheduleForm(FlaskForm):
    start = HiddenField(validators=[DataRequired(message="Please pick a new time.")])
    instructor = HiddenField()


class SignupForm(FlaskForm):
    """No password here: it is chosen through the link mailed to the address (app.accounts)."""

    first_name = StringField("First name", validators=[DataRequired(), Length(max=64)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=64)])
    email = StringField(
        "Email", filters=[strip], validators=[DataRequired(), Email(), Length(max=254)]
    )


class ReminderPreferenceForm(FlaskForm):
    lesson_reminders = BooleanField("E-mail me a reminder before each lesson")
