from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.core.db import commit_unit_of_work
from campaigns.extensions import db
from campaigns.mailings.models import Mailing, MailingVersion
from campaigns.networks.models import Network
from campaigns.petitions import services as petitions
from campaigns.petitions import signing
from campaigns.petitions.models import Signature


def add_supporter(
    slug: str,
    email: str,
    *,
    name: str = "Ada Example",
    country: str = "DE",
    locale: str = "en",
    newsletter: bool = True,
    confirmed: bool = True,
    network: Network | None = None,
):
    """A signature made through the signing service, confirmed unless told otherwise."""
    _outcome, signature_id = signing.sign(
        slug,
        signing.SignatureInput(
            name=name,
            email=email,
            country=country,
            comment="",
            show_name=False,
            newsletter=newsletter,
            locale=locale,
            source=network.slug if network else "",
        ),
    )
    commit_unit_of_work()  # as the view does
    signature = db.session.get(Signature, signature_id)
    if confirmed:
        petitions.confirm(signature)
        db.session.commit()
    return signature


@pytest.fixture
def supporter(demo):
    return add_supporter


def make_mailing(audience: dict | None = None, versions: dict | None = None, **fields) -> Mailing:
    versions = versions or {
        "en": (
            "News for {{ first_name | friend }}",
            "Hello {{ first_name | friend }},\n\nRead **{{ campaign_title }}**: {{ action_link }}",
        ),
        "fr": (
            "Nouvelles pour {{ first_name | ami·e }}",
            "Bonjour {{ first_name | ami·e }},\n\nLisez **{{ campaign_title }}** : {{ action_link }}",
        ),
    }
    campaign = db.session.scalar(select(Campaign).order_by(Campaign.id))
    mailing = Mailing(
        name="Test mailing",
        audience=audience or {},
        default_locale="en",
        action_campaign_id=campaign.id,
        **fields,
    )
    for locale, (subject, body) in versions.items():
        mailing.versions.append(MailingVersion(locale=locale, subject=subject, body_markdown=body))
    db.session.add(mailing)
    db.session.commit()
    return mailing
