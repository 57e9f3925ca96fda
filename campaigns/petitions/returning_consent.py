"""A returning signer's "<network> may contact me": the box ticked by someone signing again, with
the same address, a petition that address signed before (signing.SignOutcome RESENT, REMINDED,
or THROTTLED when the last mail went out moments ago).

Nothing typed into a form gives consent for an address until its owner confirms by mail (double
opt-in), so the choice is stored as a consent record awaiting confirmation (`confirmed_at` empty),
which every reader of shared supporters leaves out (exports.shared):
- on a pending signature, the link of the confirmation mail (sent again) confirms it with the
  signature: services.confirm confirms every consent record of the signature;
- on a confirmed signature, the "you have already signed" mail carries a link of its own
  (`mail_values`) to a page with a button, since mail scanners open links; pressing it (a POST)
  confirms the consent (`confirm`).

A signature holds at most one live consent (granted, not withdrawn) per network: signing again
with the box ticked reuses one still awaiting its confirmation, and records nothing when one
stands already. An unticked box records nothing: it never withdraws an earlier consent (only the
supporter's preferences page does).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import Row, Select, insert, select, update

from campaigns.core.db import utcnow
from campaigns.core.links import SignedLinks, TokenError
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.consent import NetworkConsent, network_text_id
from campaigns.petitions.models import (
    ConsentRecord,
    ConsentText,
    Petition,
    Signature,
    SignatureStatus,
)

# A link of its own kind: no signature link opens this page, and this link opens no other. Its
# purpose "confirm" makes it expire like every confirmation link (core.links).
_LINKS = SignedLinks("network-consent")
_PURPOSE = "confirm"


def _live(signature_id: int, network_id: int) -> Select[tuple[int]]:
    """The signature's consent to that network that still stands, confirmed or awaiting it."""
    return select(ConsentRecord.id).where(
        ConsentRecord.signature_id == signature_id,
        ConsentRecord.network_id == network_id,
        ConsentRecord.granted.is_(True),
        ConsentRecord.withdrawn_at.is_(None),
    )


def record_returning_consent(signature_id: int, network: NetworkConsent, locale: str) -> int | None:
    """Record that whoever signed again with the address of `signature_id` ticked `network`'s
    box, awaiting its owner's confirmation, with the wording shown this time (in `locale`).
    Returns the id of the consent that stands (the one recorded, or one recorded before); None
    when the box was not ticked or the signature is withdrawn. The caller commits."""
    if not network.granted:
        return None
    # The signature's row, locked until the commit: two quick submissions must not both find no
    # live consent and both record one. (On PostgreSQL; SQLite, the development default, has no
    # row locks, and two submissions of one address in the same instant could both record one.)
    status = db.session.scalar(
        select(Signature.status).where(Signature.id == signature_id).with_for_update()
    )
    if status not in (SignatureStatus.PENDING, SignatureStatus.CONFIRMED):
        return None
    standing = db.session.scalar(_live(signature_id, network.network_id).limit(1))
    if standing is not None:
        return standing
    return db.session.execute(
        insert(ConsentRecord)
        .values(
            signature_id=signature_id,
            consent_text_id=network_text_id(network, locale),
            granted=True,
            recorded_at=utcnow(),
            network_id=network.network_id,
        )
        .returning(ConsentRecord.id)
    ).scalar_one()


class ConsentState(enum.StrEnum):
    AWAITING = "awaiting"  # the owner of the address may confirm it
    CONFIRMED = "confirmed"  # confirmed, and still standing
    GONE = "gone"  # withdrawn, or its signature is: nothing to confirm


@dataclass(frozen=True)
class ReturningConsent:
    """A consent to a network given by signing again, as its confirmation page shows it."""

    consent_id: int
    network_name: str
    wording: str  # exactly what the box said when it was ticked
    campaign_id: int
    state: ConsentState


_COLUMNS = (
    ConsentRecord.id,
    Network.name,
    ConsentText.text,
    Petition.campaign_id,
    ConsentRecord.granted,
    ConsentRecord.confirmed_at,
    ConsentRecord.withdrawn_at,
    Signature.status,
    Signature.email,
)


def _consents() -> Select:
    return (
        select(*_COLUMNS)
        .select_from(ConsentRecord)
        .join(Signature, Signature.id == ConsentRecord.signature_id)
        .join(Petition, Petition.id == Signature.petition_id)
        .join(Network, Network.id == ConsentRecord.network_id)
        .join(ConsentText, ConsentText.id == ConsentRecord.consent_text_id)
    )


def _returning_consent(row: Row | None) -> ReturningConsent | None:
    if row is None:
        return None
    consent_id, name, text, campaign_id, granted, confirmed, withdrawn, status, email = row
    if not granted or withdrawn is not None or email is None:
        state = ConsentState.GONE
    elif status != SignatureStatus.CONFIRMED:
        # A pending signature's consents are confirmed with it, by its own link.
        state = ConsentState.GONE
    else:
        state = ConsentState.AWAITING if confirmed is None else ConsentState.CONFIRMED
    return ReturningConsent(consent_id, name, text, campaign_id, state)


def awaiting_confirmation(signature_id: int) -> ReturningConsent | None:
    """The latest consent of a confirmed signature still awaiting its owner's confirmation."""
    query = (
        _consents()
        .where(
            Signature.id == signature_id,
            Signature.status == SignatureStatus.CONFIRMED,
            ConsentRecord.granted.is_(True),
            ConsentRecord.confirmed_at.is_(None),
            ConsentRecord.withdrawn_at.is_(None),
        )
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )
    found = _returning_consent(db.session.execute(query).one_or_none())
    return found if found is not None and found.state is ConsentState.AWAITING else None


def mail_values(signature_id: int, lang: str) -> dict[str, str]:
    """What the "you have already signed" mail adds when a consent of the signature awaits its
    owner's confirmation: `consent_network` (the network's name) and `consent_url` (the page
    that confirms it). Empty when none awaits: the mail is then as it always was."""
    awaiting = awaiting_confirmation(signature_id)
    if awaiting is None:
        return {}
    token = _LINKS.make(awaiting.consent_id, _PURPOSE)
    return {
        "consent_network": awaiting.network_name,
        "consent_url": public_url("petitions.confirm_network_consent", lang=lang, token=token),
    }


def consent_from_token(token: str) -> ReturningConsent:
    """The consent a confirmation link names, in its present state; TokenExpired or TokenError
    when the link cannot be used (also when the record is gone: no different from a wrong
    link)."""
    consent_id = _LINKS.record_id(token, _PURPOSE)
    row = db.session.execute(_consents().where(ConsentRecord.id == consent_id)).one_or_none()
    found = _returning_consent(row)
    if found is None:
        raise TokenError
    return found


def confirm(consent_id: int) -> bool:
    """Confirm a consent awaiting its owner's confirmation. True only for the request that
    confirmed it: a conditional update, which finds nothing once the consent or its signature
    is withdrawn, so a page opened before a withdrawal cannot bring the consent back."""
    confirmed_signature = select(Signature.id).where(
        Signature.status == SignatureStatus.CONFIRMED, Signature.email.is_not(None)
    )
    done = db.session.execute(
        update(ConsentRecord)
        .where(
            ConsentRecord.id == consent_id,
            ConsentRecord.network_id.is_not(None),
            ConsentRecord.granted.is_(True),
            ConsentRecord.confirmed_at.is_(None),
            ConsentRecord.withdrawn_at.is_(None),
            ConsentRecord.signature_id.in_(confirmed_signature),
        )
        .values(confirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1
