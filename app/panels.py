"""How every Flask-AppBuilder panel reads and behaves for the people who use it.

FAB's defaults are written for developers: "List Location", "Added Row", ``None``, ``True``,
``['in_person']``, object reprs, UTC timestamps, a required "Active" checkbox (so nothing can
be switched off), a date picker that mangles typed dates, and a refused form that redirects
away and throws the input away. ``PanelView`` configures all of that once; the tenant-scoped
base view (``app.tenancy.views.TenantModelView``) and the platform's views inherit it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from flask import abort, flash, g, request
from flask_appbuilder.forms import GeneralModelConverter
from flask_appbuilder.urltools import (
    get_filter_args,
    get_order_args,
    get_page_args,
    get_page_size_args,
)
from markupsafe import Markup
from wtforms import BooleanField, DateField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import DateInput

from app.school_time import shown_moment, shown_time

# --- values as sentences ---------------------------------------------------------------------


def readable(value: Any) -> Any:
    """Any column value as a person reads it: no None, True, lists or reprs."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return shown_moment(value)
    if isinstance(value, date):
        return f"{value:%a %d %b %Y}"
    if isinstance(value, time):
        return shown_time(value)
    if isinstance(value, enum.Enum):
        return getattr(value, "label", None) or str(value.value).replace("_", " ").capitalize()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(readable(v)) for v in value)
    return str(value)


def colour_swatch(value: str | None) -> Markup:
    if not value:
        return Markup("")
    return Markup(
        '<span style="display:inline-block;width:1em;height:1em;border-radius:2px;'
        'vertical-align:middle;background:{0}"></span> {0}'
    ).format(value)


# --- form fields FAB derives from the model ----------------------------------------------------


class TypedDateInput(DateInput):
    """A real ``<input type="date">``: the browser's own calendar, typed dates in the
    reader's order (12/08/2026 is 8 December in the US), and pasting (admin-forms.js)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("class_", "form-control")
        kwargs.setdefault("data-date-input", "")
        return super().__call__(field, **kwargs)


class PanelFormConverter(GeneralModelConverter):
    """FAB's converter, except for the two column kinds it gets wrong for people."""

    def _convert_simple(self, col_name, label, description, lst_validators, form_props):
        validators = list(lst_validators)  # FAB appends to the view's own list otherwise
        default = self.datamodel.get_col_default(col_name)
        if self.datamodel.is_boolean(col_name):
            # Unticked is an answer ("not active"), not a missing one.
            form_props[col_name] = BooleanField(
                label, description=description, validators=validators, default=default
            )
            return form_props
        if self.datamodel.is_date(col_name):
            required = not self.datamodel.is_nullable(col_name)
            if not any(isinstance(v, InputRequired | Optional) for v in validators):
                validators.append(InputRequired(message="Give a date.") if required else Optional())
            form_props[col_name] = DateField(
                label,
                description=description,
                validators=validators,
                widget=TypedDateInput(),
                default=default,
            )
            return form_props
        return super()._convert_simple(col_name, label, description, validators, form_props)

    def _convert_many_to_one(self, col_name, *args, **kwargs):
        form_props = super()._convert_many_to_one(col_name, *args, **kwargs)
        form_props[col_name].kwargs["blank_text"] = "—"  # FAB leaves it empty ("__None")
        return form_props


# --- the base view -------------------------------------------------------------------------------


class PanelView:
    """Mixin for FAB ``ModelView`` s: the school's words, readable values, kind forms.

    A view names what one row is (``item_name = "Location"``); titles and messages follow:
    "Locations", "New location", "Edit location", "Location added", "Location saved",
    "Location deleted".
    """

    item_name: str = ""
    add_template = "panels/add.html"
    edit_template = "panels/edit.html"

    def _prettify_column(self, name: str) -> str:
        """Labels in sentence case: "Appointment type", not "Appointment Type"."""
        return name.replace("_", " ").replace(".", " ").capitalize()

    def _init_titles(self) -> None:
        noun = self.item_name or self._prettify_name(self.datamodel.model_name).capitalize()
        self.item_name = noun
        lower = noun[0].lower() + noun[1:]
        self.list_title = self.list_title or f"{noun}s"
        self.add_title = self.add_title or f"New {lower}"
        self.edit_title = self.edit_title or f"Edit {lower}"
        self.show_title = self.show_title or noun
        messages = {
            "add_row_message": f"{noun} added.",
            "edit_row_message": f"{noun} saved.",
            "delete_row_message": f"{noun} deleted.",
            "delete_integrity_error_message": (
                f"This {lower} is still in use, so it cannot be deleted. "
                "Untick “Active” to stop offering it instead."
            ),
        }
        for attribute, message in messages.items():
            # A view may compute its own message (a read-only property): leave that alone.
            own = getattr(type(self), attribute, None)
            if not isinstance(own, property) or own.fset is not None:
                setattr(self, attribute, message)
        super()._init_titles()

    def _init_properties(self) -> None:
        super()._init_properties()
        # Every shown column gets a readable formatter unless the view chose its own.
        self.formatters_columns = {
            **{col: self._readable_for(col) for col in [*self.list_columns, *self.show_columns]},
            **self.formatters_columns,
        }

    def _readable_for(self, column: str):
        """FAB hands an enum column's raw value ("student"); read it through its enum."""
        if column in self.datamodel.list_columns and self.datamodel.is_enum(column):
            enum_class = self.datamodel.list_columns[column].type.enum_class
            if enum_class is not None:
                return lambda value: readable(enum_class(value)) if value is not None else ""
        return readable

    def _init_forms(self) -> None:
        converter = PanelFormConverter(self.datamodel)
        if not self.search_form:
            self.search_form = converter.create_form(
                self.label_columns,
                self.search_columns,
                extra_fields=self.search_form_extra_fields,
                filter_rel_fields=self.search_form_query_rel_fields,
            )
        if not self.add_form:
            self.add_form = converter.create_form(
                self.label_columns,
                self.add_columns,
                self.description_columns,
                self.validators_columns,
                self.add_form_extra_fields,
                self.add_form_query_rel_fields,
            )
        if not self.edit_form:
            self.edit_form = converter.create_form(
                self.label_columns,
                self.edit_columns,
                self.description_columns,
                self.validators_columns,
                self.edit_form_extra_fields,
                self.edit_form_query_rel_fields,
            )

    # A refused form comes back with what was typed and the reason (422), instead of FAB's
    # redirect to another page that drops the input.

    def render_template(self, template, **kwargs):
        page = super().render_template(template, **kwargs)
        return (page, 422) if g.get("panel_form_refused") else page

    def _refuse(self, error: Exception) -> None:
        self.datamodel.session.rollback()
        flash(str(error), "danger")
        g.panel_form_refused = True

    def _add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate():
                self.process_form(form, True)
                item = self.datamodel.obj()
                try:
                    form.populate_obj(item)
                    self.pre_add(item)
                    self.datamodel.add(item)
                except ValueError as error:
                    self._refuse(error)
                else:
                    self.post_add(item)
                    flash(self.add_row_message, "success")
                    return None
            else:
                g.panel_form_refused = True
        else:
            self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        pages, page_sizes, orders = get_page_args(), get_page_size_args(), get_order_args()
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk
            if form.validate():
                self.process_form(form, False)
                try:
                    form.populate_obj(item)
                    self.pre_update(item)
                    self.datamodel.edit(item)
                except ValueError as error:
                    self._refuse(error)
                    item = self.datamodel.get(pk, self._base_filters)
                else:
                    self.post_update(item)
                    flash(self.edit_row_message, "success")
                    return None
            else:
                g.panel_form_refused = True
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
            self.update_redirect()
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(
            item, filters={}, orders=orders, pages=pages, page_sizes=page_sizes, widgets=widgets
        )
