"""What a submitted signing form becomes: the petition page and the embeddable form both sign
through here, so a signature is the same whichever form took it."""

from __future__ import annotations

from flask_babel import get_locale

from campaigns.petitions.forms import SignatureForm
from campaigns.petitions.signing import SignatureInput


def signature_input(
    form: SignatureForm, source_url: str, source: str | None = None
) -> SignatureInput:
    """The signature a validated form asks for. `source`: the network that brought the signer
    when the page knows it (the embed), else the form's own `?source=` code."""
    return SignatureInput(
        name=form.name.data,
        email=form.email.data,
        country=form.country.data,
        comment=form.comment.data or "",
        show_name=form.show_name.data,
        newsletter=form.newsletter.data,
        locale=str(get_locale()),
        source=source if source is not None else form.source.data or "",
        source_url=source_url,
        # Which network's box the form showed, and whether it was ticked: signing checks that
        # this network may take the consent (the hidden field is the visitor's to change).
        network_consent_for=form.network_consent_id,
        network_consent=bool(form.network_consent.data),
    )
