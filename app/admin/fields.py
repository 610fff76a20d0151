"""Form fields FAB cannot derive from the models by itself."""

from __future__ import annotations

from flask_appbuilder.fieldwidgets import Select2ManyWidget
from wtforms import SelectMultipleField
from wtforms.validators import DataRequired

from app.models import LocationMode


def location_modes_field() -> SelectMultipleField:
    return SelectMultipleField(
        "Location modes",
        choices=[(mode.value, mode.label) for mode in LocationMode],
        validators=[DataRequired(message="Choose at least one location mode.")],
        widget=Select2ManyWidget(),
        description="Where this lesson can take place.",
    )
