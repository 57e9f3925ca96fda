"""Making alerts: one Alert per subscribed network and occasion, with its emails (one row per
contact, but for those who unsubscribed: alerts.optouts) and its webhook messages (one delivery
per endpoint), all in the caller's transaction.

The Alert is inserted unless present (unique per network, topic and occasion), and its emails
and webhooks are made only by the transaction that inserted it. So a handler that runs twice
(a relay racing a slow worker, a redelivered task) or a digest that runs every hour makes
nothing twice, and an alert never exists without what it sends. On PostgreSQL a second
transaction inserting the same alert waits for the first and then finds it.

Nothing is sent here. Once the caller commits, the alerts with emails are handed to the
`alerts.send_emails` task (a Celery task published by name); the beat task
`alerts.send_pending` sends whatever that task did not (lost publish, killed worker). Webhook
deliveries are published by the webhooks package the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from campaigns.alerts import optouts
from campaigns.alerts.audience import Subscriber, subscribers
from campaigns.alerts.models import Alert, AlertEmail, Topic
from campaigns.core.db import insert_unless_present, utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.webhooks import outgoing

log = logging.getLogger(__name__)

SEND_EMAILS_TASK = "alerts.send_emails"
# The session's alerts whose emails wait for the commit (see `_publish_after_commit`).
_MAIL_DUE = "alert_emails_due"

# (network, occasion) -> the alert's payload, in the network's language.
PayloadBuilder = Callable[[Network], dict]


def fan_out(
    topic: Topic,
    occasion: str,
    build: PayloadBuilder,
    network_ids: list[int] | None = None,
) -> list[int]:
    """Make the alert of `occasion` for every active network subscribed to `topic` (only
    `network_ids`, if given) that does not have it yet. Returns the ids of the alerts made."""
    made = []
    for subscriber in subscribers(topic, network_ids):
        alert_id = make_alert(subscriber, topic, occasion, build(subscriber.network))
        if alert_id is not None:
            made.append(alert_id)
    return made


def make_alert(subscriber: Subscriber, topic: Topic, occasion: str, data: dict) -> int | None:
    """Insert the alert with its emails and webhooks; None if the network has it already."""
    network = subscriber.network
    message_id = outgoing.new_message_id()
    now = utcnow()
    alert_id = db.session.scalar(
        insert_unless_present(Alert)
        .values(
            network_id=network.id,
            topic=topic,
            occasion=occasion,
            payload=data,
            message_id=message_id,
            created_at=now,
        )
        .returning(Alert.id)
    )
    if alert_id is None:
        return None
    if subscriber.by_email:
        addresses = optouts.recipients(network)  # not to contacts who stopped them
        if addresses:
            db.session.execute(
                insert_unless_present(AlertEmail),
                [{"alert_id": alert_id, "email": a, "status": "pending"} for a in addresses],
            )
            db.session.info.setdefault(_MAIL_DUE, set()).add(alert_id)
    if subscriber.by_webhook:
        outgoing.enqueue(network.id, message_id, str(topic), data)
    log.info("alert %s (%s, %s) made for network %s", alert_id, topic, occasion, network.slug)
    return alert_id


# After a failed publish, no new try for a few seconds: a broker outage costs one fast failure
# rather than one per commit; beat's send_pending sends what waits meanwhile.
_BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def publish_send_emails(alert_ids: list[int]) -> bool:
    """Publish `alerts.send_emails` for these alerts (by name: the web app never imports a
    task). False if the broker is unreachable, which loses nothing: the emails wait, pending."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until or not has_app_context():
        return False
    try:
        # No publish retries: a commit must not hang on a broker that is away.
        celery_app = current_app.extensions["celery"]
        celery_app.send_task(SEND_EMAILS_TASK, args=[alert_ids], retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: beat's send_pending is there
        _broker_down_until = time.monotonic() + _BROKER_BACKOFF_SECONDS
        log.warning("alert emails left for alerts.send_pending: %s", exc)
        return False
    return True


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    # As the outbox does: only the real COMMIT counts, not a released SAVEPOINT.
    if session.in_nested_transaction():
        return
    due = session.info.pop(_MAIL_DUE, None)
    if due:
        publish_send_emails(sorted(due))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_MAIL_DUE, None)
