"""What we hold for one address, as its preferences page lists it, and each withdrawal the page
offers. Every query is bound to the one address the page's link stands for (privacy.tokens): an
id sent with a form that is not that address's finds nothing. Services flush; the view commits.

Withdrawals reuse each domain's own: petitions.services.reject (erases the signature; its
signature.rejected event corrects the counts), lobbying.services.reject (stops the deliveries
not yet made, erases the letter) and the mailings' suppression list (the newsletter). A member
network that could read the address (its export, its API) is told to delete it, by an event
recorded in the same transaction (campaigns.petitions.sharing)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload

from campaigns.campaign.models import Campaign
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.lobbying import services as lobbying
from campaigns.lobbying.models import (
    Letter,
    LetterAction,
    LetterDeliveryStatus,
    LetterStatus,
)
from campaigns.mailings.models import SuppressionReason
from campaigns.mailings.suppression import lift_unsubscribe, suppress, suppression_of
from campaigns.networks.models import Network
from campaigns.petitions import services as petitions
from campaigns.petitions.models import (
    ConsentRecord,
    ConsentText,
    Petition,
    Signature,
    SignatureStatus,
)
from campaigns.petitions.sharing import WITHDRAWN, networks_reading, record_withdrawals

NEWSLETTER = "newsletter"
PUBLIC_NAME = "public_name"
# Deliveries that have gone, or are going this very moment: a withdrawal cannot call them back.
GONE = (LetterDeliveryStatus.SENT, LetterDeliveryStatus.SENDING)


class Newsletter(enum.StrEnum):
    SUBSCRIBED = "subscribed"  # asked for campaign news when signing, and receives them
    UNSUBSCRIBED = "unsubscribed"  # unsubscribed: nothing is sent
    STOPPED = "stopped"  # bounced or complained: we stopped sending
    NOT_ASKED = "not_asked"  # never asked for campaign news


@dataclass(frozen=True)
class SignatureItem:
    id: int
    title: str
    confirmed: bool
    signed_at: datetime
    confirmed_at: datetime | None
    name_shown: bool


@dataclass(frozen=True)
class LetterItem:
    id: int
    title: str
    confirmed: bool
    written_at: datetime
    delivered: int  # letters that reached a policymaker (or are going now)
    waiting: int  # letters still to go, which a withdrawal stops


@dataclass(frozen=True)
class NetworkItem:
    id: int
    name: str
    # False while the consent waits for the address's confirmation: the network sees nothing yet.
    sees_you: bool


@dataclass(frozen=True)
class Preferences:
    signatures: list[SignatureItem]
    letters: list[LetterItem]
    newsletter: Newsletter
    can_resubscribe: bool
    networks: list[NetworkItem]

    @property
    def empty(self) -> bool:
        """Nothing held any more: the newsletter and the networks' consents hang on signatures,
        so an address with no signature and no letter has nothing left to withdraw."""
        return not self.signatures and not self.letters


def campaign_title(campaign: Campaign, locale: str) -> str:
    translation = campaign.translation_for(locale)
    if translation is None:  # no ready text any more: any text it had, else its address
        translation = next(iter(campaign.translations), None)
    return translation.title if translation is not None else campaign.slug


# -- reading ----------------------------------------------------------------------------------


def preferences_of(email: str, locale: str) -> Preferences:
    """Everything the page lists for `email`, titles in `locale`."""
    news = newsletter_of(email)
    return Preferences(
        signatures=_signatures(email, locale),
        letters=_letters(email, locale),
        newsletter=news.newsletter,
        can_resubscribe=news.can_resubscribe,
        networks=_networks(email),
    )


@dataclass(frozen=True)
class NewsletterChoice:
    newsletter: Newsletter
    can_resubscribe: bool


def newsletter_of(email: str) -> NewsletterChoice:
    """Whether `email` receives campaign news, and nothing more: all that the page reads for a
    newsletter-only link (a mailing's unsubscribe token), so it cannot show anything else."""
    has_newsletter = _has_consent(email, NEWSLETTER)
    suppression = suppression_of(email)
    if suppression is None:
        newsletter = Newsletter.SUBSCRIBED if has_newsletter else Newsletter.NOT_ASKED
    elif suppression.reason == SuppressionReason.UNSUBSCRIBED:
        newsletter = Newsletter.UNSUBSCRIBED
    else:
        newsletter = Newsletter.STOPPED
    return NewsletterChoice(
        newsletter, can_resubscribe=newsletter == Newsletter.UNSUBSCRIBED and has_newsletter
    )


def _signatures(email: str, locale: str) -> list[SignatureItem]:
    signatures = db.session.scalars(
        select(Signature)
        .where(Signature.email == email)
        .options(
            joinedload(Signature.petition)
            .joinedload(Petition.campaign)
            .selectinload(Campaign.translations)
        )
        .order_by(Signature.created_at.desc(), Signature.id.desc())
    )
    return [
        SignatureItem(
            id=s.id,
            title=campaign_title(s.petition.campaign, locale),
            confirmed=s.status == SignatureStatus.CONFIRMED,
            signed_at=s.created_at,
            confirmed_at=s.confirmed_at,
            name_shown=s.show_name,
        )
        for s in signatures
    ]


def _letters(email: str, locale: str) -> list[LetterItem]:
    letters = db.session.scalars(
        select(Letter)
        .where(Letter.email == email)
        .options(
            joinedload(Letter.action)
            .joinedload(LetterAction.campaign)
            .selectinload(Campaign.translations),
            selectinload(Letter.deliveries),
        )
        .order_by(Letter.created_at.desc(), Letter.id.desc())
    )
    return [
        LetterItem(
            id=letter.id,
            title=campaign_title(letter.action.campaign, locale),
            confirmed=letter.status == LetterStatus.CONFIRMED,
            written_at=letter.created_at,
            delivered=sum(d.status in GONE for d in letter.deliveries),
            waiting=sum(d.status in lobbying.NOT_YET_SENT for d in letter.deliveries),
        )
        for letter in letters
    ]


def _has_consent(email: str, purpose: str) -> bool:
    """Whether a signature of `email` carries a granted, standing consent for `purpose`."""
    return bool(
        db.session.scalar(
            select(ConsentRecord.id)
            .join(Signature, Signature.id == ConsentRecord.signature_id)
            .join(ConsentText, ConsentText.id == ConsentRecord.consent_text_id)
            .where(
                Signature.email == email,
                ConsentText.purpose == purpose,
                ConsentRecord.granted.is_(True),
                ConsentRecord.withdrawn_at.is_(None),
            )
            .limit(1)
        )
    )


def _networks(email: str) -> list[NetworkItem]:
    """The member networks `email` said may contact it, and has not taken that back."""
    rows = db.session.execute(
        select(Network.id, Network.name)
        .where(
            Network.id.in_(
                select(ConsentRecord.network_id)
                .join(Signature, Signature.id == ConsentRecord.signature_id)
                .where(
                    Signature.email == email,
                    ConsentRecord.network_id.is_not(None),
                    ConsentRecord.granted.is_(True),
                    ConsentRecord.withdrawn_at.is_(None),
                )
            )
        )
        .order_by(func.lower(Network.name), Network.id)
    )
    reading = networks_reading(email)
    return [NetworkItem(id=row.id, name=row.name, sees_you=row.id in reading) for row in rows]


# -- withdrawing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureWithdrawn:
    title: str
    was_confirmed: bool


@dataclass(frozen=True)
class LetterWithdrawn:
    title: str
    stopped: int  # letters that will not go
    delivered: int  # letters that had gone: they cannot be called back


def _own_signature(email: str, signature_id: int) -> Signature | None:
    return db.session.scalar(
        select(Signature).where(Signature.id == signature_id, Signature.email == email)
    )


def withdraw_signature(email: str, signature_id: int, locale: str) -> SignatureWithdrawn | None:
    """Withdraw one of the address's signatures, erasing its personal data; None if it has no
    such signature (withdrawn already, or not its own)."""
    signature = _own_signature(email, signature_id)
    if signature is None:
        return None
    title = campaign_title(signature.petition.campaign, locale)
    was_confirmed = signature.status == SignatureStatus.CONFIRMED
    # It erases the address, and tells each network that could read it (petitions.sharing).
    if not petitions.reject(signature):
        return None
    # A withdrawn signature shares nothing: its consents (the networks' above all, whose lists
    # read withdrawn_at) are withdrawn with it, as its record says.
    db.session.execute(
        update(ConsentRecord)
        .where(
            ConsentRecord.signature_id == signature.id,
            ConsentRecord.granted.is_(True),
            ConsentRecord.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return SignatureWithdrawn(title, was_confirmed)


def hide_name(email: str, signature_id: int, locale: str) -> str | None:
    """Stop showing the signer's name on the petition page, and mark the consent they gave for
    it withdrawn. Returns the petition's title; None if there was no name shown to hide."""
    signature = _own_signature(email, signature_id)
    if signature is None or not signature.show_name:
        return None
    signature.show_name = False
    public_name_texts = select(ConsentText.id).where(ConsentText.purpose == PUBLIC_NAME)
    db.session.execute(
        update(ConsentRecord)
        .where(
            ConsentRecord.signature_id == signature.id,
            ConsentRecord.consent_text_id.in_(public_name_texts),
            ConsentRecord.granted.is_(True),
            ConsentRecord.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return campaign_title(signature.petition.campaign, locale)


def withdraw_letter(email: str, letter_id: int, locale: str) -> LetterWithdrawn | None:
    """Withdraw one of the address's letters: what has not gone yet stays unsent, and the
    letter's personal data is erased. None if the address has no such letter."""
    letter = db.session.scalar(select(Letter).where(Letter.id == letter_id, Letter.email == email))
    if letter is None:
        return None
    title = campaign_title(letter.action.campaign, locale)
    delivered = sum(d.status in GONE for d in letter.deliveries)
    stopped = sum(d.status in lobbying.NOT_YET_SENT for d in letter.deliveries)
    if not lobbying.reject(letter):
        return None
    return LetterWithdrawn(title, stopped=stopped, delivered=delivered)


def newsletter_off(email: str, mailing_id: int | None) -> None:
    """No mailing goes to the address any more (commit before answering: see `suppress`)."""
    suppress(email, SuppressionReason.UNSUBSCRIBED, mailing_id=mailing_id)


def newsletter_on(email: str) -> bool:
    """Campaign news again, for an address that asked for them when signing and unsubscribed
    since; bounces and complaints stay. True if it changed anything."""
    return _has_consent(email, NEWSLETTER) and lift_unsubscribe(email)


def withdraw_network_consent(email: str, network_id: int) -> str | None:
    """Withdraw every "<network> may contact me" the address gave that network, on any
    signature: the network's list of supporters no longer shows it. Returns the network's name;
    None if the address had no standing consent for it."""
    own_signatures = select(Signature.id).where(Signature.email == email)
    was_read = network_id in networks_reading(email)
    now = utcnow()
    done = db.session.execute(
        update(ConsentRecord)
        .where(
            ConsentRecord.signature_id.in_(own_signatures),
            ConsentRecord.network_id == network_id,
            ConsentRecord.granted.is_(True),
            ConsentRecord.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount == 0:
        return None
    if was_read:  # a consent never confirmed was never shared: the network never had it
        record_withdrawals(email, [network_id], WITHDRAWN, now)
    return db.session.scalar(select(Network.name).where(Network.id == network_id))
