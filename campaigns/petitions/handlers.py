"""Event handlers of the petitions domain: the confirmation mail (double opt-in)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from campaigns.campaign.models import Campaign
from campaigns.core.events import Event, handles
from campaigns.core.mail import render_email, send_once
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.petitions.services import make_token


def _signature_with_campaign(signature_id: int) -> Signature | None:
    """The signature with its petition, campaign and texts, in one query."""
    return db.session.scalar(
        select(Signature)
        .where(Signature.id == signature_id)
        .options(
            joinedload(Signature.petition)
            .joinedload(Petition.campaign)
            .selectinload(Campaign.translations)
        )
    )


@handles("signature.created")
@handles("signature.confirmation_requested")
def send_confirmation_mail(event: Event) -> None:
    """One mail per event: the first signing, and each (rate-limited) request to send it again."""
    signature = _signature_with_campaign(event.payload["signature_id"])
    if signature is None or signature.status != SignatureStatus.PENDING or not signature.email:
        return
    send_once(
        f"confirm:{event.id}",
        "petitions/confirm",
        lambda: build_confirmation_mail(signature),
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
            title=campaign.translation_for(lang).title,
            petition_url=public_url("petitions.petition", lang=lang, slug=campaign.slug),
            reject_url=public_url(
                "petitions.reject", lang=lang, token=make_token(signature.id, "reject")
            ),
        ),
    )


def build_confirmation_mail(signature: Signature):  # noqa: ANN201 - a flask_mail.Message
    campaign = signature.petition.campaign
    translation = campaign.translation_for(signature.locale)
    lang = signature.locale
    return render_email(
        "petitions/confirm",
        signature.locale,
        signature.email,
        title=translation.title,
        confirm_url=public_url(
            "petitions.confirm", lang=lang, token=make_token(signature.id, "confirm")
        ),
        reject_url=public_url(
            "petitions.reject", lang=lang, token=make_token(signature.id, "reject")
        ),
        petition_url=public_url("petitions.petition", lang=lang, slug=campaign.slug),
        valid_days=max(1, current_app.config["CONFIRMATION_MAX_AGE"] // 86400),
    )
