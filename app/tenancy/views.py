"""The tenant-scoped Flask-AppBuilder base class every school admin view inherits.

Scoping happens in the data interface, so every FAB route that reads through it (list,
show, edit, delete, actions, related dropdowns, search) sees only the current
school, and every add gets the current school's id. RLS underneath is the second guard.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, request
from flask_appbuilder import ModelView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy.exc import IntegrityError
from wtforms.validators import ValidationError

from app.panels import PanelView
from app.tenancy.context import current_org_id, privileged


class TenantSQLAInterface(SQLAInterface):
    """An SQLAInterface that can only see and write the current school's rows."""

    @property
    def tenant_column(self) -> str | None:
        table = self.obj.__table__
        if "organization_id" in table.c:
            return "organization_id"
        if table.name == "organizations":
            return "id"
        return None

    def _scoped(self, filters: Filters | None) -> Filters | None:
        column = self.tenant_column
        if column is None:
            return filters
        scoped = filters.copy() if filters else Filters(self.filter_converter_class, self)
        # -1 never matches: no school bound means no rows, never every row.
        scoped.add_filter(column, self.FilterEqual, current_org_id() or -1)
        return scoped

    def query(self, filters: Filters | None = None, *args: Any, **kwargs: Any):
        return super().query(self._scoped(filters), *args, **kwargs)

    def get(self, id: Any, filters: Filters | None = None, *args: Any, **kwargs: Any):
        return super().get(id, self._scoped(filters), *args, **kwargs)

    def get_related_obj(self, col_name: str, value: Any):
        return self.get_related_interface(col_name).get(value)

    def add(self, item: Any, commit: bool = True) -> None:
        if self.tenant_column == "organization_id":
            item.organization_id = current_org_id()
        with _friendly_integrity_errors(self.session):
            super().add(item, commit)

    def edit(self, item: Any, commit: bool = True) -> None:
        self._require_own(item)
        # The application role cannot write schools (least privilege, app/tenancy/rls.py):
        # a school's own settings row, checked just above, is saved on the privileged
        # connection.
        saving = privileged() if self.tenant_column == "id" else nullcontext()
        with saving, _friendly_integrity_errors(self.session):
            super().edit(item, commit)

    def delete(self, item: Any, commit: bool = True) -> None:
        self._require_own(item)
        with _friendly_integrity_errors(self.session):
            super().delete(item, commit)

    def delete_all(self, items: list[Any]) -> None:
        for item in items:
            self._require_own(item)
        with _friendly_integrity_errors(self.session):
            super().delete_all(items)

    def _require_own(self, item: Any) -> None:
        column = self.tenant_column
        if column and getattr(item, column) != current_org_id():
            abort(404)


@contextmanager
def _friendly_integrity_errors(session: Any) -> Iterator[None]:
    """The database's last word (a constraint) as a sentence, not SQL; FAB flashes it."""
    try:
        yield
    except (IntegrityError, DatabaseException) as error:
        session.rollback()
        constraint = getattr(getattr(error.__cause__ or error, "orig", None), "diag", None)
        name = getattr(constraint, "constraint_name", None) or "a database rule"
        raise ValueError(f"Not saved: this would break {name}. Nothing was changed.") from error


def _tenant_relations(model: type) -> list[str]:
    """Relations of ``model`` that point at tenant-owned rows (their dropdowns need scoping)."""
    return [
        relation.key
        for relation in sa.inspect(model).relationships
        if "organization_id" in relation.mapper.class_.__table__.c
    ]


def _school_unique_columns(model: type) -> list[str]:
    """Columns unique per school, from ``UNIQUE (organization_id, <column>)`` constraints."""
    columns = []
    for constraint in model.__table__.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            names = [c.name for c in constraint.columns]
            if len(names) == 2 and names[0] == "organization_id" and names[1] != "id":
                columns.append(names[1])
    return columns


class UniqueInSchool:
    """WTForms validator: no other row of this school has the same value."""

    def __init__(self, model: type, column: str):
        self.model, self.column = model, column

    def __call__(self, form: Any, field: Any) -> None:
        from app.extensions import db

        query = sa.select(self.model.id).where(
            self.model.organization_id == current_org_id(),
            getattr(self.model, self.column) == field.data,
        )
        existing = db.session.scalar(query)
        editing_pk = (request.view_args or {}).get("pk")
        if existing is not None and str(existing) != str(editing_pk):
            raise ValidationError(f"This school already has one named “{field.data}”.")


def reject_unknown_choices(form: Any, field: Any) -> None:
    """FAB's multi-select drops ids outside its (school-scoped) choices silently; refuse them."""
    if getattr(field, "_invalid_formdata", False):
        raise ValidationError("Not a valid choice: that option does not belong to this school.")


class TenantModelView(PanelView, ModelView):
    """Base for every school admin view: scoped reads, scoped writes, scoped dropdowns; it
    reads in the school's words (``PanelView``: titles, messages, values, forms)."""

    served_on = "school"
    # Bulk delete needs the same permission as deleting one row.
    method_permission_name = {"delete_selected": "delete"}

    def __init__(self, **kwargs: Any):
        if not isinstance(self.datamodel, TenantSQLAInterface):
            raise TypeError(f"{type(self).__name__}.datamodel must be a TenantSQLAInterface")
        self._scope_related_fields()
        self._add_validators()
        # FAB appends to base_permissions in place; keep the class attribute untouched.
        self.base_permissions = list(self.base_permissions) if self.base_permissions else None
        can_delete = self.base_permissions is None or "can_delete" in self.base_permissions
        super().__init__(**kwargs)
        if not can_delete:
            self.actions.pop("muldelete", None)
            self.base_permissions = [p for p in self.base_permissions if p != "can_delete"]

    def _scope_related_fields(self) -> None:
        related = {
            key: [["organization_id", FilterEqualFunction, current_org_id]]
            for key in _tenant_relations(self.datamodel.obj)
        }
        for attribute in (
            "add_form_query_rel_fields",
            "edit_form_query_rel_fields",
            "search_form_query_rel_fields",
        ):
            setattr(self, attribute, {**related, **(getattr(self, attribute, None) or {})})

    def _add_validators(self) -> None:
        model = self.datamodel.obj
        validators = dict(self.validators_columns or {})
        for column in _school_unique_columns(model):
            validators[column] = [*validators.get(column, []), UniqueInSchool(model, column)]
        for relation in _tenant_relations(model):
            if sa.inspect(model).relationships[relation].uselist:
                validators[relation] = [*validators.get(relation, []), reject_unknown_choices]
        self.validators_columns = validators

    @action("muldelete", "Delete", "Delete the selected rows?", "fa-trash", single=False)
    def delete_selected(self, items: list | Any):
        items = items if isinstance(items, list) else [items]
        try:
            self.pre_delete_all(items)
        except ValueError as refusal:
            self.datamodel.session.rollback()
            flash(str(refusal), "danger")
            return redirect(self.get_redirect())
        self.datamodel.delete_all(items)
        noun = self.item_name if len(items) == 1 else f"{len(items)} × {self.item_name.lower()}"
        flash(f"{noun} deleted.", "success")
        return redirect(self.get_redirect())

    def pre_delete_all(self, items: list) -> None:
        """Checks before a bulk delete (FAB's own skips ``pre_delete``); a ValueError refuses
        it with its message. By default, each row's ``pre_delete``."""
        for item in items:
            self.pre_delete(item)

    # FAB's action routes fetch by primary key without the view's filters; the scoped
    # interface returns None for another school's key, which must be a 404, not a crash.
    # Re-exposed (an override loses FAB's route): POST only, so the list page's delete
    # buttons submit FAB's action form with its CSRF token.
    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name: str, pk: Any):
        if (
            name not in self.actions
            or self.datamodel.get(self._deserialize_pk_if_composite(pk)) is None
        ):
            abort(404)
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        pks = request.form.getlist("rowid")
        if request.form.get("action") not in self.actions or any(
            self.datamodel.get(self._deserialize_pk_if_composite(pk)) is None for pk in pks
        ):
            abort(404)
        return super().action_post()
