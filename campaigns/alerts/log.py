"""The alert log: every alert, newest first, and to whom it went: each email address with its
status, and each webhook endpoint with the status of its delivery (joined on the message id)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from campaigns.alerts.models import Alert, Topic
from campaigns.alerts.payloads import title_of
from campaigns.extensions import db
from campaigns.webhooks.models import WebhookDelivery

PAGE_SIZE = 50


@dataclass
class LogFilters:
    network_id: int | None = None
    topic: Topic | None = None

    def args(self) -> dict[str, str]:
        found = {}
        if self.network_id is not None:
            found["network"] = str(self.network_id)
        if self.topic is not None:
            found["topic"] = self.topic.value
        return found


@dataclass
class LogEntry:
    alert: Alert
    title: str
    deliveries: list[WebhookDelivery] = field(default_factory=list)


def entries(filters: LogFilters, before: int | None) -> tuple[list[LogEntry], bool]:
    """A page of the log (alerts older than the alert `before`, if given) and whether older
    ones follow. Keyset pagination: a page stays right while new alerts arrive."""
    query = select(Alert).options(joinedload(Alert.network), selectinload(Alert.emails))
    if filters.network_id is not None:
        query = query.where(Alert.network_id == filters.network_id)
    if filters.topic is not None:
        query = query.where(Alert.topic == filters.topic)
    if before is not None:
        query = query.where(Alert.id < before)
    alerts = db.session.scalars(query.order_by(Alert.id.desc()).limit(PAGE_SIZE + 1)).all()
    more = len(alerts) > PAGE_SIZE
    alerts = alerts[:PAGE_SIZE]
    by_message = deliveries_of([a.message_id for a in alerts])
    return [
        LogEntry(a, title_of(a.payload), by_message.get(a.message_id, [])) for a in alerts
    ], more


def deliveries_of(message_ids: list[str]) -> dict[str, list[WebhookDelivery]]:
    if not message_ids:
        return {}
    found: dict[str, list[WebhookDelivery]] = defaultdict(list)
    rows = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.message_id.in_(message_ids))
        .options(joinedload(WebhookDelivery.endpoint))
        .order_by(WebhookDelivery.id)
    )
    for delivery in rows:
        found[delivery.message_id].append(delivery)
    return found


def entry(alert_id: int) -> LogEntry | None:
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        return None
    return LogEntry(
        alert, title_of(alert.payload), deliveries_of([alert.message_id]).get(alert.message_id, [])
    )


def pretty(payload: dict) -> str:
    """The payload as its webhook's `data`, indented for reading."""
    return json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)
