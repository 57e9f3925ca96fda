"""Signing, confirming and rejecting signatures. Services flush; the caller commits."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import contains_eager

from campaigns.campaign.models import PUBLIC_STATUSES, Campaign, CampaignStatus
from campaigns.core.db import insert_unless_present, utcnow
from campaigns.core.events import record_event
from campaigns.extensions import db
from campaigns.petitions.consent import record_consents
from campaigns.petitions.models import ConsentRecord, Petition, Signature, SignatureStatus


class SignOutcome(enum.StrEnum):
    """What signing did. The page says the same ("check your email") in every case, so that nobody
    can learn from it whether an address has signed; the email tells the owner."""

    CREATED = "created"  # new pending signature; a confirmation mail is on its way
    RESENT = "resent"  # already pending; the confirmation mail is sent again
    REMINDED = "reminded"  # already confirmed; an "you have already signed" mail is sent
    THROTTLED = "throttled"  # signed again moments after the last mail: nothing is sent


class TokenError(Exception):
    """A confirmation or rejection link that is malformed or not ours."""


class TokenExpired(TokenError):
    """A link that was ours but is too old."""


@dataclass(frozen=True)
class SignatureInput:
    name: str
    email: str
    country: str
    comment: str
    show_name: bool
    newsletter: bool
    locale: str
    source_network_id: int | None = None
    source_url: str | None = None


def normalize_email(email: str) -> str:
    """Deduplication key: surrounding space removed, case folded (mail providers ignore case)."""
    return email.strip().lower()


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
    """What a sign POST needs to know about a petition, read without loading the ORM objects."""

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


def sign(petition_id: int, data: SignatureInput) -> tuple[SignOutcome, int | None]:
    """Record a signature (or find the one this email already made) with its consents and event.
    Returns what happened and the signature's id (None in the rare race described below).

    Core statements, not ORM objects: this runs on every sign POST, and the unit of work would
    cost more than the three INSERTs themselves."""
    email = normalize_email(data.email)
    now = utcnow()
    # Most signers are new: try the insert first and let the unique constraint on (petition,
    # email) find those who signed before (also when two requests race: PostgreSQL makes the
    # second wait for the first to commit, then skips it).
    signature_id = db.session.execute(
        insert_unless_present(Signature.__table__).returning(Signature.__table__.c.id),
        {
            "petition_id": petition_id,
            "email": email,
            "name": data.name.strip(),
            "country": data.country,
            "comment": data.comment.strip() or None,
            "show_name": data.show_name,
            "locale": data.locale,
            "source_network_id": data.source_network_id,
            "source_url": data.source_url,
            "confirmation_requested_at": now,
        },
    ).scalar()
    if signature_id is not None:
        choices = {"signature": True, "public_name": data.show_name, "newsletter": data.newsletter}
        record_consents(signature_id, data.locale, choices, now)
        record_event("signature.created", signature_id=signature_id)
        return SignOutcome.CREATED, signature_id
    existing = db.session.execute(
        select(Signature.id, Signature.status).where(
            Signature.petition_id == petition_id, Signature.email == email
        )
    ).one_or_none()
    if existing is None:  # withdrawn ("it wasn't me") since the insert looked: nothing to send
        return SignOutcome.THROTTLED, None
    return _signed_before(*existing), existing.id


def _signed_before(signature_id: int, status: SignatureStatus) -> SignOutcome:
    """Mail the owner of the address again (the confirmation link, or a note that their signature
    already counts), at most once per CONFIRMATION_RESEND_INTERVAL."""
    interval = timedelta(seconds=current_app.config["CONFIRMATION_RESEND_INTERVAL"])
    now = utcnow()
    # A conditional update, so two quick submissions cannot both send a mail.
    claimed = db.session.execute(
        update(Signature)
        .where(
            Signature.id == signature_id,
            Signature.status.in_((SignatureStatus.PENDING, SignatureStatus.CONFIRMED)),
            Signature.confirmation_requested_at < now - interval,
        )
        .values(confirmation_requested_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return SignOutcome.THROTTLED
    if status == SignatureStatus.CONFIRMED:
        record_event("signature.signed_again", signature_id=signature_id)
        return SignOutcome.REMINDED
    record_event("signature.confirmation_requested", signature_id=signature_id)
    return SignOutcome.RESENT


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
    return True


def reject(signature: Signature) -> bool:
    """'It wasn't me': withdraw the signature and erase the personal data it held."""
    erase = {
        "status": SignatureStatus.REJECTED,
        "rejected_at": utcnow(),
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


def _serializer(action: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"signature-{action}")


def make_token(signature_id: int, action: str) -> str:
    return _serializer(action).dumps(signature_id)


def signature_from_token(token: str, action: str) -> Signature:
    # An "it wasn't me" link never expires: it only ever removes, and the privacy notice
    # promises that the link in our emails withdraws a signature at any time.
    max_age = current_app.config["CONFIRMATION_MAX_AGE"] if action == "confirm" else None
    try:
        signature_id = _serializer(action).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenExpired from exc
    except BadSignature as exc:
        raise TokenError from exc
    signature = db.session.get(Signature, signature_id) if isinstance(signature_id, int) else None
    if signature is None:
        raise TokenError
    return signature
