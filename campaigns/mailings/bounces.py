"""Bounces and complaints: delivery status notifications (RFC 3464) and feedback reports
(RFC 5965, ARF) that come back to the bounce mailbox or are posted to the webhook.

Each is matched to its delivery through the signed VERP envelope sender, so a notification whose
address is missing or forged suppresses nothing. Each is recorded once (keyed by its Message-ID),
and in the same transaction: a hard bounce marks the delivery bounced and suppresses the address,
a complaint suppresses it, soft bounces suppress it once too many messages to it failed for good.
A delay notice ("still being retried") is recorded, for staff to see, but never counts.

The same mailbox receives the unsubscribe requests of the `mailto:` in List-Unsubscribe: their
subject carries the recipient's signed unsubscribe token, and the address is unsubscribed at once.

What is stored or logged holds no address: diagnostics are redacted (servers quote the recipient),
and logs name deliveries, never addresses.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import distinct, func, select, update
from sqlalchemy.exc import IntegrityError

from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.mailings.bounce_parsing import (
    Notification,
    parse_notification,
    redacted,
    unsubscribe_request,
)
from campaigns.mailings.message import delivery_id_from_verp
from campaigns.mailings.models import (
    Bounce,
    BounceKind,
    Delivery,
    DeliveryStatus,
    SuppressionReason,
)
from campaigns.mailings.suppression import email_digest, suppress

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"  # this notification was recorded before
    IGNORED = "ignored"  # not a notification, or not about one of our deliveries
    UNSUBSCRIBED = "unsubscribed"  # a mail to the List-Unsubscribe mailto: address


# --- Recording it ------------------------------------------------------------------------------


def _delivery_for(addresses: tuple[str, ...]) -> Delivery | None:
    for address in addresses:
        delivery_id = delivery_id_from_verp(address)
        if delivery_id is not None:
            return db.session.get(Delivery, delivery_id)
    return None


def _soft_bounces(digest: str) -> int:
    """Deliveries to this address that failed softly for good lately. Only a final failure
    ("Action: failed", which marks the delivery bounced) counts: a delay notice says the message
    may still arrive, and a server sends several of them for one slow message. A delay notice
    and the final failure of one message count once."""
    since = utcnow() - timedelta(days=current_app.config["MAILING_SOFT_BOUNCE_DAYS"])
    return db.session.scalar(
        select(func.count(distinct(Bounce.delivery_id)))
        .join(Delivery, Delivery.id == Bounce.delivery_id)
        .where(
            Bounce.email_digest == digest,
            Bounce.kind == BounceKind.SOFT,
            Bounce.received_at >= since,
            Delivery.status == DeliveryStatus.BOUNCED,
        )
    )


def record(notification: Notification, source: str) -> Outcome:
    """Record a notification against its delivery and suppress the address if it must be, in
    the caller's transaction."""
    delivery = _delivery_for(notification.addresses)
    if delivery is None:
        # Unmatched or forged: it must not suppress anyone.
        # Counted, not listed: the addresses may be anyone's (a supporter's among them).
        log.warning(
            "%s notification names none of our deliveries (%d addresses tried): ignored",
            source,
            len(notification.addresses),
        )
        return Outcome.IGNORED
    digest = email_digest(delivery.email)
    diagnostic = redacted(notification.diagnostic)  # a webhook's may quote the address too
    try:
        with db.session.begin_nested():
            db.session.add(
                Bounce(
                    delivery_id=delivery.id,
                    email_digest=digest,
                    kind=notification.kind,
                    status_code=notification.status,
                    diagnostic=diagnostic,
                    source=source,
                    notification_id=notification.notification_id,
                )
            )
    except IntegrityError:  # the savepoint is rolled back; nothing else was written
        return Outcome.DUPLICATE
    if notification.final:
        # Before counting: a final soft failure counts through its delivery being bounced.
        db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id, Delivery.status == DeliveryStatus.SENT)
            .values(
                status=DeliveryStatus.BOUNCED,
                error=" ".join(filter(None, (notification.status, diagnostic))),
            )
        )
    reason = detail = None
    if notification.kind == BounceKind.COMPLAINT:
        reason, detail = SuppressionReason.COMPLAINED, diagnostic
    elif notification.kind == BounceKind.HARD:
        reason = SuppressionReason.BOUNCED
        detail = " ".join(filter(None, (notification.status, diagnostic)))
    elif notification.final:  # a delay notice is recorded, but never counted
        soft = _soft_bounces(digest)
        if soft >= current_app.config["MAILING_SOFT_BOUNCE_LIMIT"]:
            reason = SuppressionReason.BOUNCED
            detail = f"{soft} soft bounces, the last: {notification.status or '?'}"
    if reason is not None:
        suppress(delivery.email, reason, mailing_id=delivery.mailing_id, detail=detail)
    log.info(
        "%s %s bounce for delivery %s recorded%s",
        source,
        notification.kind,
        delivery.id,
        f"; address suppressed ({reason})" if reason else "",
    )
    return Outcome.RECORDED


# "unsubscribe <token>", as our List-Unsubscribe mailto: asks, perhaps after "Re:" or the like.
def _unsubscribe(delivery_id: int, source: str) -> Outcome:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:  # erased since ("it wasn't me"): nothing left to send to
        return Outcome.IGNORED
    suppress(delivery.email, SuppressionReason.UNSUBSCRIBED, mailing_id=delivery.mailing_id)
    log.info("%s: delivery %s unsubscribed by mail", source, delivery_id)
    return Outcome.UNSUBSCRIBED


def process(raw: bytes, source: str, envelope_recipient: str | None = None) -> Outcome:
    """Read, match and record one message. A message that cannot be read is ignored; a database
    failure raises (the message should be kept and tried again)."""
    try:
        notification = parse_notification(raw, envelope_recipient)
        unsubscribe = unsubscribe_request(raw) if notification is None else None
    except Exception:  # a malformed message must never stop the reader
        log.warning("%s: unreadable message ignored", source, exc_info=True)
        return Outcome.IGNORED
    if unsubscribe is not None:
        return _unsubscribe(unsubscribe, source)
    if notification is None:
        log.info("%s: a message that is no bounce, complaint or unsubscribe was ignored", source)
        return Outcome.IGNORED
    return record(notification, source)
