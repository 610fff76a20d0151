"""Platform admin: read-only Clerk webhook events and a summary of the last 24 hours."""

from __future__ import annotations

from flask import url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup

from app.identity import service
from app.models import WebhookEvent


def _preformatted(text: str | None) -> Markup:
    return Markup("<pre>{}</pre>").format(text or "")


class WebhookEventView(ModelView):
    served_on = "platform"
    route_base = "/webhookevents"
    datamodel = SQLAInterface(WebhookEvent)
    base_permissions = ["can_list", "can_show"]
    list_title = "Clerk webhook events"
    show_title = "Clerk webhook event"
    list_columns = [
        "received_at",
        "event_type",
        "status",
        "path",
        "attempts",
        "duration_ms",
        "svix_id",
        "last_error",
    ]
    show_columns = [
        "svix_id",
        "event_type",
        "status",
        "path",
        "attempts",
        "last_error",
        "detail",
        "received_at",
        "queued_at",
        "next_attempt_at",
        "processed_at",
        "duration_ms",
        "payload_cut_at",
        "payload_json",
    ]
    search_columns = ["status", "event_type", "path", "svix_id", "received_at"]
    base_order = ("received_at", "desc")
    label_columns = {
        "path": "Path",
        "duration_ms": "Took (ms)",
        "payload_json": "Payload",
        "svix_id": "svix-id",
        "last_error": "Last error",
        "detail": "What it did",
        "payload_cut_at": "Payload removed",
    }
    formatters_columns = {
        "payload_json": _preformatted,
        "last_error": _preformatted,
        "duration_ms": lambda ms: "" if ms is None else f"{ms:.1f}",
    }


class WebhookSummaryView(BaseView):
    served_on = "platform"
    route_base = "/webhooks"
    default_view = "summary"

    @expose("/summary")
    @has_access
    def summary(self):
        events_url = url_for("WebhookEventView.list")
        return self.render_template(
            "identity/webhook_summary.html",
            summary=service.summary(hours=24),
            events_url=events_url,
            failed_url=f"{events_url}?_flt_3_status=failed",
        )


def register(appbuilder) -> None:
    appbuilder.add_view(WebhookEventView, "Clerk webhooks", icon="fa-exchange", category="Platform")
    appbuilder.add_view(
        WebhookSummaryView, "Clerk webhooks (24 h)", icon="fa-bar-chart", category="Platform"
    )
