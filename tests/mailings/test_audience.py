"""Who receives a mailing: only confirmed supporters who asked for news, once per address."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.mailings.audience import Audience, count_recipients, extend_recipient_list
from campaigns.mailings.models import Delivery, SuppressionReason
from campaigns.mailings.suppression import suppress
from campaigns.networks.models import Network
from tests.mailings.conftest import make_mailing

NALOXONE = "naloxone-in-every-pocket"


def campaign_id(slug: str) -> int:
    return db.session.scalar(select(Campaign.id).where(Campaign.slug == slug))


def test_only_confirmed_supporters_who_asked_for_news_once_per_address(supporter):
    slugs = db.session.scalars(select(Campaign.slug).order_by(Campaign.id)).all()
    supporter(slugs[0], "ada@example.org")
    supporter(slugs[1], "ADA@example.org ")  # the same person on another petition
    supporter(slugs[0], "quiet@example.org", newsletter=False)
    supporter(slugs[0], "pending@example.org", confirmed=False)
    supporter(slugs[0], "gone@example.org")
    suppress("gone@example.org", SuppressionReason.UNSUBSCRIBED)

    assert count_recipients(Audience()) == 1
    mailing = make_mailing()
    while extend_recipient_list(mailing, batch_size=2):
        pass
    assert mailing.audience_complete
    assert db.session.scalars(select(Delivery.email)).all() == ["ada@example.org"]


def test_filters_by_campaign_country_language_and_network(supporter):
    asud = db.session.scalar(select(Network).where(Network.slug == "asud"))
    other = db.session.scalars(select(Campaign.slug).where(Campaign.slug != NALOXONE)).first()
    supporter(NALOXONE, "fr@example.org", country="FR", locale="fr", network=asud)
    supporter(NALOXONE, "de@example.org", country="DE", locale="de")
    supporter(other, "other@example.org", country="FR", locale="fr")

    assert count_recipients(Audience(campaign_ids=[campaign_id(NALOXONE)])) == 2
    assert count_recipients(Audience(countries=["FR"])) == 2
    assert count_recipients(Audience(countries=["FR"], campaign_ids=[campaign_id(NALOXONE)])) == 1
    assert count_recipients(Audience(locales=["de"])) == 1
    assert count_recipients(Audience(network_ids=[asud.id])) == 1
    assert count_recipients(Audience(countries=["SE"])) == 0


def test_it_wasnt_me_withdraws_the_address_from_mailings(app, supporter):
    from campaigns.petitions import services as petitions
    from tests.support import run_outbox

    signature = supporter(NALOXONE, "not-me@example.org", name="Someone Else")
    supporter(NALOXONE, "reader@example.org")
    mailing = make_mailing()
    while extend_recipient_list(mailing):
        pass
    run_outbox(app)  # the signing events, out of the way

    assert petitions.reject(db.session.get(type(signature), signature.id))
    db.session.commit()
    run_outbox(app)

    deliveries = {d.signature_id: d for d in db.session.scalars(select(Delivery))}
    withdrawn = deliveries[signature.id]
    assert withdrawn.status == "skipped"
    assert "not-me" not in withdrawn.email
    assert withdrawn.first_name == ""
    others = [d for sid, d in deliveries.items() if sid != signature.id]
    assert [d.status for d in others] == ["queued"]
