"""A milestone and a finished mailing alert the subscribed networks once each, with the count,
the goal, the mailing's subject and how many it reached, and nothing about who."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from campaigns.alerts import emails
from campaigns.alerts.models import Alert, AlertEmail, Topic
from campaigns.campaign.models import Campaign
from campaigns.core.db import utcnow
from campaigns.core.events import Event, record_event
from campaigns.extensions import db
from campaigns.mailings import lifecycle
from campaigns.mailings.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingStatus,
    MailingVersion,
)
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.petitions.tallies.models import Milestone
from campaigns.webhooks.models import WebhookDelivery
from tests.alerts.conftest import network
from tests.support import run_outbox, text_part


@pytest.fixture
def first_milestone(app, monkeypatch):
    """Milestones at 1 signature, so that one confirmed signature reaches one."""
    monkeypatch.setitem(app.config, "MILESTONES", (1,))


def confirmed_signature(slug: str, email: str, network_slug: str | None = None) -> Signature:
    """A confirmed signature with its "signature.confirmed" event, as confirming records them."""
    petition = db.session.scalar(select(Petition).join(Campaign).where(Campaign.slug == slug))
    signature = Signature(
        petition_id=petition.id,
        status=SignatureStatus.CONFIRMED,
        email=email,
        name="Ana",
        country="FR",
        locale="fr",
        source_network_id=network(network_slug).id if network_slug else None,
        confirmed_at=utcnow(),
    )
    db.session.add(signature)
    db.session.flush()
    record_event("signature.confirmed", signature_id=signature.id)
    db.session.commit()
    return signature


def test_a_milestone_alerts_each_subscribed_network_once(app, subscribed, mailbox, first_milestone):
    subscribed(Topic.MILESTONE_REACHED)
    confirmed_signature("naloxone-in-every-pocket", "ana@example.org", "asud")
    for _ in range(2):  # the confirmation counted, then the milestone it reached
        run_outbox(app)
    db.session.rollback()
    [milestone] = db.session.scalars(select(Milestone)).all()
    assert milestone.threshold == 1

    alerts = {a.network.slug: a for a in db.session.scalars(select(Alert))}
    assert sorted(alerts) == ["asud", "jes"]
    payload = alerts["asud"].payload
    assert payload["occasion"] == f"milestone:{milestone.petition_id}:1"
    assert (payload["threshold"], payload["kind"], payload["count"], payload["goal"]) == (
        1,
        "count",
        1,
        10_000,
    )
    assert payload["campaign"]["url"].endswith("/fr/c/naloxone-in-every-pocket?source=asud")
    assert "ana@example.org" not in json.dumps(payload)
    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    assert json.loads(delivery.body)["data"]["network"] == "jes"

    emails.send_pending()
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "alice@asud.example.org",
        "bruno@asud.example.org",
        "jana@jes.example.org",
    ]
    [german] = mailbox.to("jana@jes.example.org")
    assert german["Content-Language"] == "de"
    assert "naloxone-in-every-pocket?source=jes" in text_part(german)

    # The same milestone's event handled again (relay, redelivery): nothing new.
    [event] = db.session.scalars(
        select(Event).where(Event.type == "petition.milestone_reached")
    ).all()
    event.processed_at = None
    db.session.commit()
    run_outbox(app)
    emails.send_pending()
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 2
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
    assert len(mailbox.messages) == 3


def test_a_mailing_sent_alerts_with_its_subject_and_count_only(app, subscribed, mailbox):
    subscribed(Topic.MAILING_SENT)
    mailing = Mailing(
        name="March news",
        status=MailingStatus.SENDING,
        default_locale="en",
        audience={},
        audience_complete=True,
        started_at=utcnow(),
    )
    mailing.versions.append(
        MailingVersion(locale="en", subject="Naloxone news", body_markdown="Hello")
    )
    mailing.versions.append(
        MailingVersion(locale="fr", subject="Nouvelles", body_markdown="Bonjour")
    )
    db.session.add(mailing)
    db.session.flush()
    for n, status in enumerate((DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.FAILED)):
        db.session.add(
            Delivery(
                mailing_id=mailing.id,
                email=f"reader{n}@example.org",
                locale="en",
                status=status,
            )
        )
    db.session.commit()

    assert lifecycle.finish(mailing)
    db.session.commit()
    assert not lifecycle.finish(mailing)  # a second beat finds it finished: no second event
    db.session.commit()
    assert (
        db.session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "mailing.sent")
        )
        == 1
    )
    run_outbox(app)

    alerts = {a.network.slug: a for a in db.session.scalars(select(Alert))}
    assert sorted(alerts) == ["asud", "jes"]
    data = alerts["asud"].payload
    assert data["mailing"]["subject"] == "Naloxone news"  # the default language's
    assert data["mailing"]["recipients"] == 2
    assert data["occasion"] == f"mailing:{mailing.id}"
    assert "reader0@example.org" not in json.dumps(data)
    emails.send_pending()
    [french] = mailbox.to("alice@asud.example.org")
    assert "Naloxone news" in french["Subject"]
    assert "reader" not in text_part(french)
    assert {e.status for e in db.session.scalars(select(AlertEmail))} == {"sent"}
