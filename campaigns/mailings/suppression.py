"""Addresses no mailing may go to: unsubscribed, bounced hard (or softly too often), complained."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from campaigns.extensions import db
from campaigns.mailings.models import Suppression, SuppressionReason


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
    """Add the address (committing at once: after this returns, no mailing may go to it).
    Returns False if it was already suppressed."""
    db.session.add(
        Suppression(
            email_digest=email_digest(email), reason=reason, mailing_id=mailing_id, detail=detail
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def lift_unsubscribe(email: str) -> bool:
    """A supporter subscribes again. Only their own unsubscribe can be lifted this way: bounces
    and complaints stay."""
    result = db.session.execute(
        delete(Suppression).where(
            Suppression.email_digest == email_digest(email),
            Suppression.reason == SuppressionReason.UNSUBSCRIBED,
        )
    )
    db.session.commit()
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
