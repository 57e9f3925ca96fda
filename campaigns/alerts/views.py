"""The staff blueprint of alerts, its routes in one place: a network's subscriptions (next to
its other pages, under /staff/networks/), the urgent action form and the alert log."""

from __future__ import annotations

from flask import Blueprint, current_app, url_for
from flask_babel import lazy_gettext as _l

from campaigns.alerts.log_views import alert_detail, alert_log
from campaigns.alerts.subscription_views import network_subscriptions
from campaigns.alerts.topics import channel_name, topic_label, topic_name
from campaigns.alerts.urgent_views import new_urgent_action
from campaigns.webhooks.models import WebhookStatus

bp = Blueprint("alerts", __name__)

bp.add_url_rule(
    "/staff/networks/<int:network_id>/alerts",
    endpoint="subscriptions",
    view_func=network_subscriptions,
    methods=["GET", "POST"],
)
bp.add_url_rule("/staff/alerts/", endpoint="log", view_func=alert_log)
bp.add_url_rule("/staff/alerts/<int:alert_id>", endpoint="alert", view_func=alert_detail)
bp.add_url_rule(
    "/staff/alerts/urgent/new",
    endpoint="urgent_new",
    view_func=new_urgent_action,
    methods=["GET", "POST"],
)

EMAIL_STATUS_LABELS = {
    "pending": _l("Waiting to be sent"),
    "sent": _l("Sent"),
    "failed": _l("Refused by the mail server"),
    "cancelled": _l("Not sent (network deactivated)"),
    "unsubscribed": _l("Not sent (the contact unsubscribed)"),
    "removed": _l("Not sent (no longer one of the network's contacts)"),
}
WEBHOOK_STATUS_LABELS = {
    WebhookStatus.PENDING: _l("Waiting (next try scheduled)"),
    WebhookStatus.SENDING: _l("Sending"),
    WebhookStatus.DELIVERED: _l("Delivered"),
    WebhookStatus.FAILED: _l("Failed"),
    WebhookStatus.CANCELLED: _l("Cancelled (endpoint switched off)"),
}


def url_if(endpoint: str, **values: object) -> str | None:
    """A link to a page of another part of the platform, if that part is installed."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.context_processor
def alert_helpers() -> dict[str, object]:
    return {
        "topic_label": topic_label,
        "topic_name": topic_name,
        "channel_name": channel_name,
        "email_status": lambda status: str(EMAIL_STATUS_LABELS.get(status, status)),
        "webhook_status": lambda status: str(
            WEBHOOK_STATUS_LABELS.get(WebhookStatus(status), status)
        ),
        "url_if": url_if,
    }
