"""Admin panels for notifications: what was sent, what failed and why, and the local outbox.

A school admin sees their school's e-mails (``SchoolNotificationView``, tenant-scoped like
every school panel); the platform admin sees every school's and the platform's own
(``PlatformNotificationView``). The detail page shows the message as the recipient sees it
(its HTML in a sandboxed frame) with the invitation and the whole message to download.
Read-only: rows are written only by the pipeline.
"""

from __future__ import annotations

from flask import Response, abort
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name
from markupsafe import Markup

from app.models import Notification, NotificationStatus
from app.tenancy.views import TenantModelView, TenantSQLAInterface


def _preformatted(text: str | None) -> Markup:
    return Markup("<pre>{}</pre>").format(text or "")


def _status(status: str) -> Markup:
    label = NotificationStatus(status).label
    css = {"sent": "success", "failed": "danger"}.get(status, "default")
    return Markup('<span class="label label-{}" data-status="{}">{}</span>').format(
        css, status, label
    )


def _transport(transport: str | None) -> str:
    return {"smtp": "Mail server", "outbox": "Local outbox"}.get(transport or "", "")


class _NotificationPanel:
    """What both panels show; the subclass decides whose rows (its datamodel)."""

    base_permissions = ["can_list", "can_show"]
    list_title = "E-mails"
    show_title = "E-mail"
    show_template = "notifications/show.html"
    list_columns = [
        "created_at",
        "recipient",
        "subject",
        "kind",
        "status",
        "attempts",
        "transport",
        "last_error",
    ]
    show_columns = [
        "subject",
        "recipient",
        "kind",
        "status",
        "attempts",
        "transport",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "text_body",
    ]
    search_columns = ["status", "kind", "recipient", "subject", "created_at"]
    base_order = ("created_at", "desc")
    label_columns = {
        "created_at": "Queued",
        "recipient": "To",
        "kind": "About",
        "attempts": "Attempts",
        "transport": "Delivered to",
        "last_error": "Last error",
        "next_attempt_at": "Next attempt",
        "sent_at": "Sent",
        "text_body": "Plain text",
        "school_display": "School",
    }
    formatters_columns = {
        "status": _status,
        "transport": _transport,
        "last_error": _preformatted,
        "text_body": _preformatted,
    }

    def _item(self, pk) -> Notification:
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
        if item is None:
            abort(404)
        return item

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self._item(pk)
        return self.render_template(
            self.show_template,
            pk=item.id,
            title=self.show_title,
            widgets=self._show(item.id),
            related_views=self._related_views,
            item=item,
        )

    @expose("/invitation/<pk>", methods=["GET"])
    @has_access
    @permission_name("show")
    def invitation(self, pk):
        item = self._item(pk)
        if not item.calendar:
            abort(404)
        method = (item.calendar_method or "REQUEST").lower()
        return Response(
            item.calendar,
            mimetype="text/calendar",
            headers={"Content-Disposition": f'attachment; filename="invite-{method}.ics"'},
        )

    @expose("/message/<pk>", methods=["GET"])
    @has_access
    @permission_name("show")
    def message(self, pk):
        """The whole message (.eml) as it went to the local outbox."""
        item = self._item(pk)
        if not item.raw_message:
            abort(404)
        return Response(
            item.raw_message,
            mimetype="message/rfc822",
            headers={"Content-Disposition": f'attachment; filename="email-{item.id}.eml"'},
        )


class SchoolNotificationView(_NotificationPanel, TenantModelView):
    route_base = "/school/emails"
    datamodel = TenantSQLAInterface(Notification)


class PlatformNotificationView(_NotificationPanel, ModelView):
    served_on = "platform"
    route_base = "/platform/emails"
    datamodel = SQLAInterface(Notification)
    list_columns = ["created_at", "school_display", *_NotificationPanel.list_columns[1:]]
    show_columns = ["school_display", *_NotificationPanel.show_columns]
    search_columns = ["organization", *_NotificationPanel.search_columns]


def register(appbuilder) -> None:
    appbuilder.add_view(SchoolNotificationView, "E-mails", icon="fa-envelope", category="School")
    appbuilder.add_view(
        PlatformNotificationView, "All e-mails", icon="fa-envelope", category="Platform"
    )
