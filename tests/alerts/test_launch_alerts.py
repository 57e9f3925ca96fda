"""A launch alerts each subscribed network once per channel: an email to each of its contacts in
the network's language, a webhook message to each endpoint; nothing for the others, and
nothing twice however often the event is handled."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from campaigns.alerts import emails
from campaigns.alerts.handlers import alert_launch
from campaigns.alerts.models import Alert, AlertEmail, Channel, Topic
from campaigns.core import events
from campaigns.extensions import db
from campaigns.webhooks.models import WebhookDelivery
from tests.alerts.conftest import subscribe
from tests.campaign.conftest import campaign_by_slug, create, post, save_translation
from tests.support import run_outbox, text_part


def count(model: type) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def launch(client, campaign) -> object:
    return post(client, f"/staff/campaigns/{campaign.id}/launch", confirmed="yes")


def test_a_launch_alerts_each_subscribed_network_in_its_language(
    app, campaigner, subscribed, mailbox
):
    subscribed(Topic.CAMPAIGN_LAUNCHED)
    assert create(campaigner, status="ready").status_code == 303
    campaign = campaign_by_slug()
    assert save_translation(campaigner, campaign, "fr", status="ready").status_code == 303

    question = post(campaigner, f"/staff/campaigns/{campaign.id}/launch")
    assert (
        "2 member networks subscribed to launches will be alerted by email or webhook."
        in question.get_data(as_text=True)
    )
    assert launch(campaigner, campaign).status_code == 303
    run_outbox(app)

    alerts = db.session.scalars(select(Alert).order_by(Alert.network_id)).all()
    assert sorted(a.network.slug for a in alerts) == ["asud", "jes"]
    by_slug = {a.network.slug: a for a in alerts}
    asud, jes = by_slug["asud"], by_slug["jes"]
    assert asud.occasion == f"campaign:{campaign.id}"
    assert asud.payload["campaign"] == {
        "slug": "housing-first-for-all",
        "title": "Un logement d'abord, pour tous",
        "kind": "petition",
        "url": "http://localhost/fr/c/housing-first-for-all?source=asud",
    }
    # German is not written: JES reads the default language's title, on the German page.
    assert jes.payload["campaign"]["title"] == "Housing first for all"
    assert jes.payload["campaign"]["url"].endswith("/de/c/housing-first-for-all?source=jes")
    assert (jes.payload["network"], jes.payload["topic"], jes.payload["locale"]) == (
        "jes",
        "campaign.launched",
        "de",
    )

    # Webhooks: only JES subscribed by webhook, one delivery per endpoint, with the payload.
    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    assert delivery.message_id == jes.message_id
    assert delivery.event_type == "campaign.launched"
    body = json.loads(delivery.body)
    assert body["version"] == 1
    assert body["type"] == "campaign.launched"
    assert body["data"] == jes.payload

    # Emails: one per contact of the networks subscribed by email, none for ItaNPUD.
    assert sorted(e.email for e in db.session.scalars(select(AlertEmail))) == [
        "alice@asud.example.org",
        "bruno@asud.example.org",
        "jana@jes.example.org",
    ]
    outcome = emails.send_pending()
    assert (outcome.sent, outcome.failed, outcome.left) == (3, 0, 0)
    assert len(mailbox.messages) == 3
    [french] = mailbox.to("alice@asud.example.org")
    assert french["Content-Language"] == "fr"
    assert french["Auto-Submitted"] == "auto-generated"
    assert "Un logement d'abord, pour tous" in french["Subject"]
    assert "http://localhost/fr/c/housing-first-for-all?source=asud" in text_part(french)
    [german] = mailbox.to("jana@jes.example.org")
    assert german["Content-Language"] == "de"
    assert "?source=jes" in text_part(german)
    assert not mailbox.to("ida@itanpud.example.org")
    assert {e.status for e in db.session.scalars(select(AlertEmail))} == {"sent"}

    # Sending again sends nothing.
    assert emails.send_pending().sent == 0
    assert len(mailbox.messages) == 3


def test_handling_the_launch_again_makes_nothing_twice(app, campaigner, subscribed, mailbox):
    subscribed(Topic.CAMPAIGN_LAUNCHED)
    create(campaigner, status="ready")
    campaign = campaign_by_slug()
    launch(campaigner, campaign)
    [event] = db.session.scalars(
        select(events.Event).where(events.Event.type == "campaign.launched")
    ).all()

    alert_launch(event)  # as a worker would ...
    db.session.commit()
    alert_launch(event)  # ... and another, for a redelivered task or a relay
    db.session.commit()
    run_outbox(app)  # the event itself
    event.processed_at = None  # handled once more, as after a relay racing the first worker
    db.session.commit()
    events.dispatch(event.id)
    db.session.commit()

    assert count(Alert) == 2
    assert count(AlertEmail) == 3
    assert count(WebhookDelivery) == 1
    emails.send_pending()
    emails.send_pending()
    assert len(mailbox.messages) == 3


def test_a_deactivated_or_unsubscribed_network_is_not_alerted(app, campaigner, subscribed):
    networks = subscribed(Topic.CAMPAIGN_LAUNCHED)
    networks["asud"].is_active = False
    db.session.commit()
    subscribe("itanpud", Topic.MILESTONE_REACHED, Channel.EMAIL)  # another topic
    create(campaigner, status="ready")
    launch(campaigner, campaign_by_slug())
    run_outbox(app)
    assert [a.network.slug for a in db.session.scalars(select(Alert))] == ["jes"]


def test_the_launch_question_says_when_nobody_is_alerted(campaigner):
    create(campaigner, status="ready")
    campaign = campaign_by_slug()
    page = post(campaigner, f"/staff/campaigns/{campaign.id}/launch").get_data(as_text=True)
    assert "No member network is subscribed to launch alerts: none will be alerted." in page
