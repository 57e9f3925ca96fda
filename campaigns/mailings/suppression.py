"""Addresses no mailing may go to: unsubscribed, bounced hard (or softly too often), complained."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from campaigns.extensions import db
from campaigns.mailings.models import Delivery, DeliveryStatus, Suppression, SuppressionReason


def email_digest(email: str) -> str:
    """The key of an address in the suppression list (normalised like signatures)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def suppress(
    email: str,
    reason: SuppressionReason,
    *,
    mailing_id: int | None = None,
    detail: str | None = None,
) -> bool:
    """Add the address and withdraw its deliveries still to send. Once the caller has committed,
    no message of any mailing goes to it (a worker marks a message sent before handing it over
    for good, on the condition that it was not withdrawn; see core.smtp): commit before
    answering. Returns False if it was already suppressed."""
    withdraw = (
        update(Delivery)
        .where(
            Delivery.email == email.strip().lower(),
            Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
        )
        .values(status=DeliveryStatus.SKIPPED, error=str(reason))
    )
    try:
        with db.session.begin_nested():
            db.session.add(
                Suppression(
                    email_digest=email_digest(email),
                    reason=reason,
                    mailing_id=mailing_id,
                    detail=detail,
                )
            )
        added = True
    except IntegrityError:
        added = False
    db.session.execute(withdraw)
    return added


def lift_unsubscribe(email: str) -> bool:
    """A supporter subscribes again. Only their own unsubscribe can be lifted this way: bounces
    and complaints stay."""
    result = db.session.execute(
        delete(Suppression).where(
            Suppression.email_digest == email_digest(email),
            Suppression.reason == SuppressionReason.UNSUBSCRIBED,
        )
    )
    return result.rowcount == 1


def suppression_of(email: str) -> Suppression | None:
    return db.session.get(Suppression, email_digest(email))


def suppressed_among(emails: Iterable[str]) -> set[str]:
    """Which of these addresses are suppressed (one query for a batch)."""
    by_digest = {email_digest(e): e for e in emails}
    if not by_digest:
        return set()
    found = db.session.scalars(
        select(Suppression.email_digest).where(Suppression.email_digest.in_(by_digest))
    )
    return {by_digest[d] for d in found}
