"""Petitions and signatures: finding a petition open for signing, the public signers, and
confirming or withdrawing a signature (from the links in the confirmation mail). Services flush;
the caller commits. Signing itself is in signing.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.orm import contains_eager

from campaigns.campaign.models import PUBLIC_STATUSES, Campaign, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.core.links import SignedLinks, TokenError
from campaigns.core.metrics import count_signature
from campaigns.extensions import db
from campaigns.petitions import sharing
from campaigns.petitions.models import ConsentRecord, Petition, Signature, SignatureStatus


def live_petition(slug: str) -> Petition | None:
    """The petition of a publicly visible campaign, or None."""
    return db.session.scalar(
        select(Petition)
        .join(Campaign)
        .options(contains_eager(Petition.campaign))
        .where(Campaign.slug == slug, Campaign.status.in_(PUBLIC_STATUSES))
    )


@dataclass(frozen=True)
class SigningTarget:
    """What signing needs to know about a petition, read without loading the ORM objects."""

    petition_id: int
    status: CampaignStatus
    deadline: date | None

    @property
    def accepts_signatures(self) -> bool:
        return _open_for_signing(self.status, self.deadline)


# Built once: constructing the statement cost a fifth of reading the row.
_SIGNING_TARGET = (
    select(Petition.id, Campaign.status, Petition.deadline)
    .join(Campaign)
    .where(Campaign.slug == bindparam("slug"), Campaign.status.in_(PUBLIC_STATUSES))
)


def signing_target(slug: str) -> SigningTarget | None:
    """The petition a sign POST is for, if its campaign is publicly visible."""
    row = db.session.execute(_SIGNING_TARGET, {"slug": slug}).one_or_none()
    return SigningTarget(*row) if row else None


def recent_public_signers(petition_id: int, limit: int = 10) -> list[tuple[str, str]]:
    """(name, country) of the latest confirmed signers who chose to show their name."""
    return [
        (name, country)
        for name, country in db.session.execute(
            select(Signature.name, Signature.country)
            .where(
                Signature.petition_id == petition_id,
                Signature.status == SignatureStatus.CONFIRMED,
                Signature.show_name.is_(True),
            )
            .order_by(Signature.confirmed_at.desc())
            .limit(limit)
        )
    ]


def accepts_signatures(petition: Petition) -> bool:
    return _open_for_signing(petition.campaign.status, petition.deadline)


def _open_for_signing(status: CampaignStatus, deadline: date | None) -> bool:
    return status == CampaignStatus.LIVE and (deadline is None or utcnow().date() <= deadline)


def confirm(signature: Signature) -> bool:
    """Confirm a pending signature. Returns True only for the request that confirmed it."""
    now = utcnow()
    done = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.status == SignatureStatus.PENDING)
        .values(status=SignatureStatus.CONFIRMED, confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.signature_id == signature.id)
        .values(confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    record_event("signature.confirmed", signature_id=signature.id)
    db.session.flush()
    db.session.refresh(signature)
    count_signature("petition", "confirmed")
    return True


def reject(signature: Signature) -> bool:
    """'It wasn't me' (or a withdrawal on the preferences page): withdraw the signature and erase
    the personal data it held; each member network that could read the address is told to delete
    it (sharing.record_withdrawals)."""
    now = utcnow()
    email = signature.email
    read_before = sharing.networks_reading(email)
    erase = {
        "status": SignatureStatus.REJECTED,
        "rejected_at": now,
        "email": None,
        "name": None,
        "comment": None,
        "show_name": False,
    }
    # Conditional updates, so that a confirmation racing this click is seen either way.
    for previous in (SignatureStatus.CONFIRMED, SignatureStatus.PENDING):
        done = db.session.execute(
            update(Signature)
            .where(Signature.id == signature.id, Signature.status == previous)
            .values(**erase)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            record_event(
                "signature.rejected",
                signature_id=signature.id,
                was_confirmed=previous == SignatureStatus.CONFIRMED,
            )
            if read_before:
                gone = read_before - sharing.networks_reading(email)
                sharing.record_withdrawals(email, gone, sharing.ERASED, now)
            db.session.flush()
            db.session.refresh(signature)
            return True
    return False


def purge_unconfirmed(older_than: timedelta) -> int:
    """Delete signatures never confirmed within `older_than`, with their consent records, as the
    privacy notice promises. Returns how many were deleted."""
    cutoff = utcnow() - older_than
    stale = select(Signature.id).where(
        Signature.status == SignatureStatus.PENDING, Signature.created_at < cutoff
    )
    ids = db.session.scalars(stale.limit(5000)).all()
    if ids:
        db.session.execute(delete(ConsentRecord).where(ConsentRecord.signature_id.in_(ids)))
        db.session.execute(delete(Signature).where(Signature.id.in_(ids)))
    return len(ids)


# -- links in the confirmation mail -----------------------------------------------------------


_LINKS = SignedLinks("signature")


def make_token(signature_id: int, action: str) -> str:
    return _LINKS.make(signature_id, action)


def signature_from_token(token: str, action: str) -> Signature:
    """The signature a link in our mails names (see core.links: only confirmation links expire)."""
    signature = db.session.get(Signature, _LINKS.record_id(token, action))
    if signature is None:
        raise TokenError
    return signature


def stepped_goal(total: int, goal: int) -> int:
    """The goal a petition's page shows: the next step of 100, 200, 500, 1,000, 2,000 ... above
    the count, up to the petition's own goal. A bar towards 10,000 looks empty at 12 signatures;
    one towards 100 shows the way (as Proca's pages do)."""
    step = 100
    while step <= total:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return min(step, goal)
