"""Webhook messages waiting to go: what other domains call to send a network a webhook.

A message is a row per endpoint (`WebhookDelivery`), written in the caller's transaction and due
at once; workers claim and send what is due (see delivery.py). The body follows the Standard
Webhooks payload shape, versioned so a receiver can tell what it parses.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import select

from campaigns.core.db import insert_unless_present, utcnow
from campaigns.extensions import db
from campaigns.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookStatus

# The version of the body's shape: a receiver checks it before reading `data`.
PAYLOAD_VERSION = 1


def new_message_id() -> str:
    """A `webhook-id`: unique per message, the same on every retry of it."""
    return f"msg_{uuid.uuid4().hex}"


def message_body(event_type: str, data: dict, timestamp: datetime | None = None) -> str:
    """The JSON body: {"type", "timestamp", "version", "data"} (Standard Webhooks' shape)."""
    when = (timestamp or utcnow()).isoformat().replace("+00:00", "Z")
    body = {"type": event_type, "timestamp": when, "version": PAYLOAD_VERSION, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def enqueue(
    network_id: int,
    message_id: str,
    event_type: str,
    data: dict,
    *,
    endpoint_id: int | None = None,
) -> int:
    """Schedule the message for every active endpoint of the network (or only `endpoint_id`),
    once per endpoint whatever the retries of the caller; the caller commits. Returns how many
    deliveries it added."""
    query = select(WebhookEndpoint.id).where(
        WebhookEndpoint.network_id == network_id, WebhookEndpoint.is_active.is_(True)
    )
    if endpoint_id is not None:
        query = query.where(WebhookEndpoint.id == endpoint_id)
    endpoint_ids = db.session.scalars(query).all()
    if not endpoint_ids:
        return 0
    now = utcnow()
    body = message_body(event_type, data, now)
    result = db.session.execute(
        insert_unless_present(WebhookDelivery),
        [
            {
                "endpoint_id": endpoint,
                "message_id": message_id,
                "event_type": event_type,
                "body": body,
                "status": WebhookStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint in endpoint_ids
        ],
    )
    added = max(result.rowcount, 0)
    if added:
        # The delivery task is published once the caller's transaction commits (delivery.py).
        db.session.info["webhooks_due"] = True
    return added
