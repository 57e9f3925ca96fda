"""The delivery log forgets finished messages after WEBHOOK_LOG_KEEP_DAYS, with their attempts,
and never a message still on its way, however old."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.webhooks import outgoing
from campaigns.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookStatus
from tests.webhooks.conftest import add_endpoint
from workers.webhooks import prune

STATUSES = [*WebhookStatus]


def test_finished_messages_go_after_the_days_kept_and_nothing_on_its_way(
    app, network, local_receivers_allowed
):
    endpoint = add_endpoint(network, "http://127.0.0.1:9/hook")
    for n, status in enumerate(STATUSES * 2):
        outgoing.enqueue(network.id, f"msg_{n}", "test.event", {"n": n})
        db.session.flush()
        delivery = db.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.message_id == f"msg_{n}")
        )
        delivery.status = status
        db.session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                endpoint_id=endpoint.id,
                number=1,
                attempted_at=utcnow(),
                latency_ms=5,
            )
        )
    db.session.commit()
    # The first of each status was queued 31 days ago, the second 29.
    keep = app.config["WEBHOOK_LOG_KEEP_DAYS"]
    assert keep == 30
    for n in range(len(STATUSES) * 2):
        age = keep + 1 if n < len(STATUSES) else keep - 1
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.message_id == f"msg_{n}")
            .values(created_at=utcnow() - timedelta(days=age))
        )
    db.session.commit()

    assert prune.run() == 3  # delivered, failed and cancelled, of 31 days
    left = db.session.execute(
        select(WebhookDelivery.message_id, WebhookDelivery.status).order_by(WebhookDelivery.id)
    ).all()
    assert [(m, s) for m, s in left] == [
        ("msg_0", WebhookStatus.PENDING),
        ("msg_1", WebhookStatus.SENDING),
        *((f"msg_{n}", s) for n, s in enumerate(STATUSES, start=len(STATUSES))),
    ]
    attempts = db.session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert attempts == len(left)  # each deleted message took its attempt with it
    assert prune.run() == 0
