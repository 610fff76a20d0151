"""Form fields FAB cannot derive from the models by itself: choices people pick from lists,
money typed in units, a colour picker."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache
from zoneinfo import available_timezones

from babel.core import get_global
from babel.numbers import get_currency_name, get_territory_currencies
from flask_appbuilder.fieldwidgets import Select2ManyWidget, Select2Widget
from wtforms import DecimalField, Field, SelectField, SelectMultipleField, StringField
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import ColorInput, TextInput

from app import clock
from app.models import LocationMode
from app.scheduling.time_format import TIME_FORMATS, TimeNotUnderstood, parse_time
from app.school_time import shown_time, time_input_example, time_input_placeholder

TIME_ZONES = frozenset(available_timezones())


def location_modes_field() -> SelectMultipleField:
    return SelectMultipleField(
        "Location modes",
        choices=[(mode.value, mode.label) for mode in LocationMode],
        validators=[DataRequired(message="Choose at least one location mode.")],
        widget=Select2ManyWidget(),
        description="Where this lesson can take place.",
    )


# --- times of day ---------------------------------------------------------------------------


class _TimeTextInput(TextInput):
    """A text box, not ``<input type="time">``: the browser's time box follows the reader's
    locale (12-hour in a US browser), never the school's setting."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("class_", "form-control")
        kwargs.setdefault("placeholder", time_input_placeholder())
        kwargs.setdefault("autocomplete", "off")
        kwargs.setdefault("data-time-input", "")
        return super().__call__(field, **kwargs)


class SchoolTimeField(Field):
    """A time of day typed either way ("1000AM", "10:00 am", "22:00"), shown and prefilled
    the school's way (12- or 24-hour)."""

    widget = _TimeTextInput()

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        if not text:
            self.data = None
            return
        try:
            self.data = parse_time(text)
        except TimeNotUnderstood:
            self.data = None
            raise ValueError(f"Give a time like {time_input_example()}.") from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return shown_time(self.data)


def school_time_field(label: str, *, message: str = "") -> SchoolTimeField:
    return SchoolTimeField(
        label, validators=[InputRequired(message=message or "Give a time, like 2:00 PM or 14:00.")]
    )


def time_format_field() -> SelectField:
    return SelectField(
        "Times shown as",
        choices=[(f.value, f.label) for f in TIME_FORMATS],
        validate_choice=False,  # valid_time_format says it in words
        validators=[valid_time_format],
        description="How every time reads on the school's pages, panels and e-mails, and how "
        "time boxes are prefilled. Either way of typing is understood.",
    )


def valid_time_format(form, field) -> None:
    if field.data not in {f.value for f in TIME_FORMATS}:
        raise ValidationError("Choose 12-hour or 24-hour times.")


# --- money ---------------------------------------------------------------------------------------


class _MoneyInput(TextInput):
    def __call__(self, field, **kwargs):
        kwargs.setdefault("class_", "form-control")
        kwargs.setdefault("inputmode", "decimal")
        kwargs.setdefault("placeholder", "55.00")
        return super().__call__(field, **kwargs)


class MoneyField(DecimalField):
    """An amount in the currency's units ("55", "55.00", "$55.5"); the model keeps cents."""

    widget = _MoneyInput()

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip().lstrip("$€£¥").replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")  # 55,00 as written in much of Europe
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():  # "NaN" and "Infinity" parse too
            self.data = None
            raise ValueError("Give an amount like 55.00.")
        if amount.as_tuple().exponent < -2:
            self.data = None
            raise ValueError("Give at most two decimals, like 55.25.")
        self.data = amount

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:.2f}"


def not_negative(form, field) -> None:
    if field.data is not None and field.data < 0:
        raise ValidationError("The price cannot be negative.")


def money_field(label: str, *, required: bool = True, description: str = "") -> MoneyField:
    return MoneyField(
        label,
        places=2,
        description=description,
        validators=[
            InputRequired(message="Give a price, like 55.00 (0 for free).")
            if required
            else Optional(),
            not_negative,
        ],
    )


# --- lists to choose from ----------------------------------------------------------------------


@cache
def currency_choices() -> list[tuple[str, str]]:
    """Currencies in use somewhere today, as "USD – US Dollar"."""
    today = clock.now().date()
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, start_date=today, tender=True))
    return [(code, f"{code} – {get_currency_name(code, locale='en')}") for code in sorted(codes)]


def valid_currency(form, field) -> None:
    if field.data not in dict(currency_choices()):
        raise ValidationError("Choose a currency from the list, such as USD or EUR.")


def currency_field() -> SelectField:
    return SelectField(
        "Currency",
        choices=currency_choices,
        default="USD",
        validate_choice=False,  # valid_currency says it in words
        validators=[valid_currency],
        widget=Select2Widget(),
    )


def time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone.replace("_", " ")) for zone in sorted(TIME_ZONES)]


def valid_time_zone(form, field) -> None:
    if field.data not in TIME_ZONES:
        raise ValidationError("Choose a time zone such as America/New_York or Europe/London.")


def time_zone_field(description: str = "", default: str = "UTC") -> SelectField:
    return SelectField(
        "Time zone",
        choices=time_zone_choices,
        default=default,
        validate_choice=False,  # valid_time_zone says it in words
        validators=[valid_time_zone],
        widget=Select2Widget(),
        description=description or "Type a city to search, e.g. “New York” or “London”.",
    )


class _ColourInput(ColorInput):
    def __call__(self, field, **kwargs):
        kwargs.setdefault("class_", "form-control")
        kwargs.setdefault("style", "max-width:6rem;padding:2px")
        return super().__call__(field, **kwargs)


def colour_field(
    label: str = "Colour", *, default: str = "#3b82f6", description: str = "Shown on calendars."
) -> StringField:
    return StringField(
        label,
        default=default,
        widget=_ColourInput(),
        # A row without a colour yet shows the default (a colour box cannot show "none").
        filters=[lambda value: value or default],
        validators=[Regexp(r"^#[0-9a-fA-F]{6}$", message="Use a colour like #3b82f6.")],
        description=description,
    )


def meeting_link_validators() -> list:
    """An optional web address (https://…) where online lessons meet."""
    return [
        Optional(),
        Length(max=500, message="Keep the link under 500 characters."),
        URL(
            require_tld=False, message="Give the full address, like https://meet.example.com/room."
        ),
        Regexp(r"^https?://", message="The link must start with https:// (or http://)."),
    ]
