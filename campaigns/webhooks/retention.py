"""How long the delivery log keeps a message: WEBHOOK_LOG_KEEP_DAYS after it was queued, once it
has reached its end (delivered, failed for good, cancelled). The log is there to debug a
receiver and to resend; it must not grow with every alert forever, and some bodies name a person
(`supporter.consent_withdrawn` carries the address the network must delete). A message still
pending or being sent is never deleted, however old."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookStatus

FINISHED = (WebhookStatus.DELIVERED, WebhookStatus.FAILED, WebhookStatus.CANCELLED)


def prune_log(older_than: timedelta, batch: int = 1000) -> int:
    """Delete up to `batch` finished messages queued more than `older_than` ago, with their
    attempts; the caller commits. Returns how many messages were deleted."""
    cutoff = utcnow() - older_than
    ids = db.session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status.in_(FINISHED), WebhookDelivery.created_at < cutoff)
        .order_by(WebhookDelivery.id)
        .limit(batch)
    ).all()
    if ids:
        db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
        db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
    return len(ids)
