"""Webhook messages waiting to go: what other domains call to send a network a webhook.

A message is a row per endpoint (`WebhookDelivery`), written in the caller's transaction and due
at once; workers claim and send what is due (see delivery.py). The body follows the Standard
Webhooks payload shape, versioned so a receiver can tell what it parses.

Once the caller's transaction commits, the task `webhooks.send_due` is published (below), so a
message leaves within moments; if the broker is down, beat's `webhooks.tick` finds it anyway,
as the rows themselves are the outbox.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from campaigns.core.db import insert_unless_present, utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookStatus

log = logging.getLogger(__name__)

SEND_DUE_TASK = "webhooks.send_due"
# The session flag `enqueue` sets: deliveries are due once this transaction commits.
DUE_FLAG = "webhooks_due"

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
    deliveries it added: none for a deactivated network, which receives nothing more."""
    query = (
        select(WebhookEndpoint.id)
        .join(Network, Network.id == WebhookEndpoint.network_id)
        .where(
            WebhookEndpoint.network_id == network_id,
            WebhookEndpoint.is_active.is_(True),
            Network.is_active.is_(True),
        )
    )
    if endpoint_id is not None:
        query = query.where(WebhookEndpoint.id == endpoint_id)
    endpoint_ids = db.session.scalars(query).all()
    if not endpoint_ids:
        return 0
    now = utcnow()
    body = message_body(event_type, data, now)
    # One multi-row INSERT ... RETURNING: a list of parameter sets would make it an ORM bulk
    # insert, whose result cannot say how many rows the ON CONFLICT clause skipped.
    added = len(
        db.session.scalars(
            insert_unless_present(WebhookDelivery)
            .values(
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
                ]
            )
            .returning(WebhookDelivery.id)
        ).all()
    )
    if added:
        # The delivery task is published once the caller's transaction commits (delivery.py).
        db.session.info[DUE_FLAG] = True
    return added


# -- publishing the delivery task after the commit ----------------------------------------------

# After a failed publish we stop trying for a few seconds, so that a broker outage costs one fast
# failure rather than a connection timeout per commit; beat's tick sends what is due meanwhile.
_BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def publish_send_due() -> bool:
    """Publish `webhooks.send_due` (by name: the web app never imports a task). False if the
    broker is unreachable, which loses nothing: the deliveries wait in the database."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until or not has_app_context():
        return False
    try:
        current_app.extensions["celery"].send_task(SEND_DUE_TASK, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: beat's tick is the safety net
        _broker_down_until = time.monotonic() + _BROKER_BACKOFF_SECONDS
        log.warning("broker unreachable; webhooks left for the tick")
        return False
    return True


@event.listens_for(Session, "after_commit")
def publish_due_after_commit(session: Session) -> None:
    # A SAVEPOINT released is no commit: the rows would not be visible to the worker yet.
    if session.in_nested_transaction():
        return
    if session.info.pop(DUE_FLAG, None):
        publish_send_due()


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:  # only the outermost rollback discards the rows
        session.info.pop(DUE_FLAG, None)
