"""Event handlers of the petitions domain: the confirmation mail (double opt-in) and the note to
an address that signed before. Each links to the supporter's preferences page."""

from __future__ import annotations

from functools import partial

from flask import current_app
from sqlalchemy import literal, select
from sqlalchemy.orm import joinedload

from campaigns.campaign.models import Campaign, CampaignTranslation
from campaigns.core.events import Event, handles, handles_in_batches, mark_processed
from campaigns.core.mail import (
    Email,
    OutgoingMail,
    first_name,
    render_email,
    send_batch,
    send_once,
    unclaimed,
)
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.petitions import returning_consent
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.petitions.services import make_token

# Confirmation mails sent by one task at most. Under a burst a batch shares one claim transaction,
# one query for the signatures and one task among many mails; it must still end well within the
# task's soft time limit (60 s) even if the mail server takes a second a mail.
CONFIRMATION_BATCH_SIZE = 25
CONFIRMATION_KEY_PREFIX = "confirm:"


def _signature_with_campaign(signature_id: int) -> Signature | None:
    """The signature with its petition, campaign and texts, in one query."""
    return _signatures_with_campaign([signature_id]).get(signature_id)


def _signatures_with_campaign(signature_ids: list[int]) -> dict[int, Signature]:
    """Signatures by id, with their petitions, campaigns and texts (two queries in all)."""
    signatures = db.session.scalars(
        select(Signature)
        .where(Signature.id.in_(signature_ids))
        .options(
            joinedload(Signature.petition)
            .joinedload(Petition.campaign)
            .selectinload(Campaign.translations)
            # A mail needs the title, not the campaign's text in every language.
            .load_only(
                CampaignTranslation.locale, CampaignTranslation.status, CampaignTranslation.title
            )
        )
    )
    return {signature.id: signature for signature in signatures}


@handles_in_batches("signature.created")
@handles_in_batches("signature.confirmation_requested")
def send_confirmation_mails(event_type: str, event: Event | None) -> int:
    """One mail per event: the first signing, and each (rate-limited) request to send it again.
    Sends up to a batch of the mails waiting (with `event`'s, if given); returns how many events
    it settled (not those another worker took meanwhile).

    The event's own mail goes last, so that if a transient error stops the batch, the task's retry
    still finds its event waiting and takes up the rest of the batch again."""
    batch = _waiting_confirmations(event_type, but=event)
    if event is not None:
        batch.append(event)
    if not batch:
        return 0
    signatures = _signatures_with_campaign([e.payload["signature_id"] for e in batch])
    mails = []
    for evt in batch:
        signature = signatures.get(evt.payload["signature_id"])
        if _awaits_confirmation(signature):
            mails.append(_confirmation_mail(evt, signature))
        else:
            mark_processed(evt)  # nothing to send; committed with the claims
    return send_batch(mails) + len(batch) - len(mails)


def _waiting_confirmations(event_type: str, but: Event | None) -> list[Event]:
    """Events of this kind, oldest first, whose mail nobody is sending (a batch's worth, with
    room for `but`, which is left out)."""
    query = select(Event).where(
        Event.type == event_type,
        Event.processed_at.is_(None),
        unclaimed(literal(CONFIRMATION_KEY_PREFIX) + Event.id),
    )
    if but is not None:
        query = query.where(Event.id != but.id)
    size = CONFIRMATION_BATCH_SIZE - (but is not None)
    return list(db.session.scalars(query.order_by(Event.created_at).limit(size)))


def _awaits_confirmation(signature: Signature | None) -> bool:
    return signature is not None and signature.status == SignatureStatus.PENDING and signature.email


def _confirmation_mail(event: Event, signature: Signature) -> OutgoingMail:
    return OutgoingMail(
        key=CONFIRMATION_KEY_PREFIX + event.id,
        template="petitions/confirm",
        build=partial(build_confirmation_mail, signature),
        settle=partial(mark_processed, event),
    )


@handles("signature.signed_again")
def send_already_signed_mail(event: Event) -> None:
    signature = _signature_with_campaign(event.payload["signature_id"])
    if signature is None or signature.status != SignatureStatus.CONFIRMED or not signature.email:
        return
    campaign = signature.petition.campaign
    lang = signature.locale
    send_once(
        f"already-signed:{event.id}",
        "petitions/already_signed",
        lambda: render_email(
            "petitions/already_signed",
            lang,
            signature.email,
            name=first_name(signature.name),
            title=campaign.translation_for(lang).title,
            petition_url=public_url("petitions.petition", lang=lang, slug=campaign.slug),
            reject_url=public_url(
                "petitions.reject", lang=lang, token=make_token(signature.id, "reject")
            ),
            preferences_url=preferences_url(signature),
            # "<network> may contact me" ticked when signing again: the link that confirms it.
            **returning_consent.mail_values(signature.id, lang),
        ),
    )


def preferences_url(signature: Signature) -> str:
    """The supporter's preferences page (campaigns.privacy), which every mail to them links to:
    there they withdraw this signature, or any other, or a consent, at any time."""
    return public_url(
        "privacy.preferences",
        lang=signature.locale,
        token=make_token(signature.id, "preferences"),
    )


def build_confirmation_mail(signature: Signature) -> Email:
    campaign = signature.petition.campaign
    translation = campaign.translation_for(signature.locale)
    lang = signature.locale
    return render_email(
        "petitions/confirm",
        signature.locale,
        signature.email,
        # The links with the signature's own tokens: the rest is the same for every signer of
        # the petition in this language, rendered once for a batch (core.mail_templates).
        per_mail={
            "confirm_url": public_url(
                "petitions.confirm", lang=lang, token=make_token(signature.id, "confirm")
            ),
            "reject_url": public_url(
                "petitions.reject", lang=lang, token=make_token(signature.id, "reject")
            ),
            "preferences_url": preferences_url(signature),
        },
        title=translation.title,
        petition_url=public_url("petitions.petition", lang=lang, slug=campaign.slug),
        valid_days=max(1, current_app.config["CONFIRMATION_MAX_AGE"] // 86400),
    )
