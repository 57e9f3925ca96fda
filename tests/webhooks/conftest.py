"""Fixtures of the webhook tests: a member network with contacts, a real receiver on loopback,
and settings that let this test process post to it."""

from __future__ import annotations

import pytest

from campaigns.extensions import db
from campaigns.networks.models import Network, NetworkContact
from campaigns.webhooks.endpoints import create_endpoint
from campaigns.webhooks.models import WebhookEndpoint
from tests.e2e.conftest import axe, browser, live_server, page  # noqa: F401 - browser fixtures
from tests.webhooks.receiver import Receiver

# For a worker process: posting to the receiver on loopback, over plain HTTP.
LOCAL_RECEIVER_ENV = {"WEBHOOK_ALLOW_HTTP": "1", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1"}


@pytest.fixture
def production_rules(app, monkeypatch):
    """The production settings: https only, public addresses only."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", False)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
    return app


@pytest.fixture
def local_receivers_allowed(app, monkeypatch):
    """The development settings, with which the tests' receiver on loopback may be posted to."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", True)
    return app


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def make_network(
    slug: str = "aides-fr",
    name: str = "AIDES France",
    languages=("fr", "en"),
    contacts=("alerts@aides.example.org",),
) -> Network:
    network = Network(
        slug=slug,
        name=name,
        countries=["FR"],
        languages=list(languages),
        contacts=[NetworkContact(name="Camille", email=address) for address in contacts],
    )
    db.session.add(network)
    db.session.commit()
    return network


@pytest.fixture
def network(app_ctx) -> Network:
    return make_network()


def add_endpoint(network: Network, url: str, description: str = "") -> WebhookEndpoint:
    endpoint = create_endpoint(network, url, description)
    db.session.commit()
    return endpoint


@pytest.fixture
def admin(make_staff, staff_login, production_rules):
    """An admin signed in, with production's rules for addresses (https, public only)."""
    return staff_login(make_staff("admin"))
