"""Letter actions and letters: finding an action open for letters, the links in the mails, and
confirming or withdrawing a letter. Services flush; the caller commits. Writing a letter is in
writing.py, its delivery in delivery.py."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import contains_eager, selectinload

from campaigns.campaign.models import PUBLIC_STATUSES, Campaign, CampaignKind, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.core.links import SignedLinks, TokenError
from campaigns.core.metrics import count_signature
from campaigns.extensions import db
from campaigns.lobbying.models import (
    Letter,
    LetterAction,
    LetterConsent,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
)


def live_action(slug: str) -> LetterAction | None:
    """The letter action of a publicly visible campaign, or None."""
    return db.session.scalar(
        select(LetterAction)
        .join(Campaign)
        .options(contains_eager(LetterAction.campaign), selectinload(LetterAction.chosen))
        .where(
            Campaign.slug == slug,
            Campaign.kind == CampaignKind.LETTER,
            Campaign.status.in_(PUBLIC_STATUSES),
        )
    )


def accepts_letters(action: LetterAction) -> bool:
    return action.campaign.status == CampaignStatus.LIVE


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_digest(email: str) -> str:
    """A keyed hash of the address: kept after a withdrawal, so that nobody writes twice to the
    same policymakers in one action, yet the address itself is gone."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, normalize_email(email).encode(), hashlib.sha256).hexdigest()


def confirmed_letters(action_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Letter)
        .where(Letter.action_id == action_id, Letter.status == LetterStatus.CONFIRMED)
    )


def confirm(letter: Letter) -> bool:
    """Confirm a pending letter. True only for the request that confirmed it; its deliveries are
    scheduled by the worker (event letter.confirmed)."""
    now = utcnow()
    done = db.session.execute(
        update(Letter)
        .where(Letter.id == letter.id, Letter.status == LetterStatus.PENDING)
        .values(status=LetterStatus.CONFIRMED, confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    db.session.execute(
        update(LetterConsent)
        .where(LetterConsent.letter_id == letter.id)
        .values(confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    record_event("letter.confirmed", letter_id=letter.id)
    db.session.flush()
    db.session.refresh(letter)
    count_signature("letter", "confirmed")
    return True


# Deliveries that a withdrawal still stops.
NOT_YET_SENT = (
    LetterDeliveryStatus.AWAITING_CONFIRMATION,
    LetterDeliveryStatus.SCHEDULED,
    LetterDeliveryStatus.IN_DIGEST,
)


def reject(letter: Letter) -> bool:
    """'It wasn't me', or a withdrawal: stop what has not gone yet and erase the personal data.

    The keyed hash of the address stays for a confirmed letter (its owner wrote it; some of it may
    have been delivered), so the same person cannot write again; it goes for a pending one (someone
    else typed the address, and its owner may still want to write)."""
    for previous in (LetterStatus.CONFIRMED, LetterStatus.PENDING):
        erase = {
            "status": LetterStatus.REJECTED,
            "rejected_at": utcnow(),
            "email": None,
            "name": None,
            "note": None,
            "subject": None,
            "body": None,
        }
        if previous == LetterStatus.PENDING:
            erase["email_digest"] = None
        done = db.session.execute(
            update(Letter)
            .where(Letter.id == letter.id, Letter.status == previous)
            .values(**erase)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            db.session.execute(
                update(LetterDelivery)
                .where(
                    LetterDelivery.letter_id == letter.id,
                    LetterDelivery.status.in_(NOT_YET_SENT),
                )
                .values(status=LetterDeliveryStatus.CANCELLED)
                .execution_options(synchronize_session=False)
            )
            db.session.flush()
            db.session.refresh(letter)
            return True
    return False


def purge_unconfirmed(older_than: timedelta) -> int:
    """Delete letters never confirmed within `older_than`, with their deliveries (none was sent)
    and consent records. Returns how many were deleted."""
    cutoff = utcnow() - older_than
    ids = db.session.scalars(
        select(Letter.id)
        .where(Letter.status == LetterStatus.PENDING, Letter.created_at < cutoff)
        .limit(5000)
    ).all()
    if ids:
        db.session.execute(delete(LetterConsent).where(LetterConsent.letter_id.in_(ids)))
        db.session.execute(delete(LetterDelivery).where(LetterDelivery.letter_id.in_(ids)))
        db.session.execute(delete(Letter).where(Letter.id.in_(ids)))
    return len(ids)


def delivered_to(letter: Letter) -> list[LetterDelivery]:
    """The letter's deliveries that were not cancelled, in the order the supporter saw them."""
    return [d for d in letter.deliveries if d.status != LetterDeliveryStatus.CANCELLED]


# -- links in the mails --------------------------------------------------------------------


_LINKS = SignedLinks("letter")


def make_token(letter_id: int, purpose: str) -> str:
    return _LINKS.make(letter_id, purpose)


def letter_from_token(token: str, purpose: str) -> Letter:
    """The letter a link in our mails names (see core.links: only confirmation links expire)."""
    letter = db.session.get(Letter, _LINKS.record_id(token, purpose))
    if letter is None:
        raise TokenError
    return letter
