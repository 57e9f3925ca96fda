"""Fixtures of the alert tests: demo networks with contacts, endpoints and subscriptions."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import select

from campaigns.alerts.models import AlertSubscription, Channel, Topic
from campaigns.extensions import db
from campaigns.networks.models import Network, NetworkContact
from campaigns.webhooks.models import WebhookEndpoint


def network(slug: str) -> Network:
    return db.session.scalar(select(Network).where(Network.slug == slug))


def set_contacts(slug: str, *emails: str) -> Network:
    """The network's contacts become exactly these addresses."""
    found = network(slug)
    found.contacts = [NetworkContact(name=e.split("@")[0].title(), email=e) for e in emails]
    db.session.commit()
    return found


def add_endpoint(slug: str, url: str = "https://hooks.example.org/alerts") -> WebhookEndpoint:
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    endpoint = WebhookEndpoint(network_id=network(slug).id, url=url, secret=secret)
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def subscribe(slug: str, topic: Topic, *channels: Channel) -> None:
    found = network(slug)
    for channel in channels:
        db.session.add(AlertSubscription(network_id=found.id, topic=topic, channel=channel))
    db.session.commit()


@pytest.fixture
def subscribed(demo):
    """ASUD (French) by email, JES (German) by email and webhook, ItaNPUD (English) to nothing,
    for `topic`; each with contacts, JES with an endpoint."""

    def setup(*topics: Topic) -> dict[str, Network]:
        set_contacts("asud", "alice@asud.example.org", "bruno@asud.example.org")
        set_contacts("jes", "jana@jes.example.org")
        set_contacts("itanpud", "ida@itanpud.example.org")
        add_endpoint("jes", "https://hooks.jes.example.org/alerts")
        for topic in topics:
            subscribe("asud", topic, Channel.EMAIL)
            subscribe("jes", topic, Channel.EMAIL, Channel.WEBHOOK)
        return {slug: network(slug) for slug in ("asud", "jes", "itanpud")}

    return setup


@pytest.fixture
def campaigner(demo, make_staff, staff_login):
    """A signed-in campaigner's browser (demo networks and campaigns loaded)."""
    return staff_login(make_staff("campaigner", name="Rosa Campaigner"))
