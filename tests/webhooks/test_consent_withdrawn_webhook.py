"""A supporter who withdraws the consent given to a member network: every active endpoint of that
network receives a signed `supporter.consent_withdrawn` message, whatever it subscribed to, with
the identifier the API gives that network, the address, when and why, and nothing else. Once in
this process (the handler, then `send_due`), once through a real Celery worker."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from campaigns.api_keys.services import create_key
from campaigns.extensions import db
from campaigns.webhooks.delivery import send_due
from campaigns.webhooks.models import WebhookDelivery, WebhookStatus
from tests.mailings.conftest import add_supporter
from tests.privacy.helpers import NALOXONE, give_network_consent, network, press
from tests.privacy.test_preferences_page import page_of
from tests.support import run_outbox, unprocessed_events, wait_until
from tests.webhooks.conftest import LOCAL_RECEIVER_ENV, add_endpoint


def api_person_id(client, network_) -> str:
    """The person's identifier as the network's own key reads it from the API."""
    _key, token = create_key("crm sync", ["read:supporters"], network_)
    db.session.commit()
    answer = client.get("/api/v1/people", headers={"Authorization": f"Bearer {token}"})
    (person,) = answer.json["_embedded"]["osdi:people"]
    return person["identifiers"][0]


def consenting_supporter(*networks):
    signature = add_supporter(NALOXONE, "ida@example.org")
    for each in networks:
        give_network_consent(signature, each)
    return signature


def test_the_network_is_told_by_a_signed_message_with_the_apis_identifier(
    app, client, demo, receiver, local_receivers_allowed
):
    alpha, beta = network("alpha", "Alpha Network"), network("beta", "Beta Network")
    signature = consenting_supporter(alpha, beta)
    endpoints = [add_endpoint(alpha, receiver.url("/a1")), add_endpoint(alpha, receiver.url("/a2"))]
    add_endpoint(beta, receiver.url("/beta"))
    person_id = api_person_id(client, alpha)

    press(client, page_of(client, signature).request.path, "withdraw_network", alpha.id)
    run_outbox(app)
    run_outbox(app)  # a handler that runs twice queues nothing twice
    send_due(budget=5)

    for endpoint, path in zip(endpoints, ("/a1", "/a2"), strict=True):
        (request,) = receiver.to(path)
        body = Webhook(endpoint.secret).verify(request.body, request.headers)
        assert body["type"] == "supporter.consent_withdrawn"
        assert body["version"] == 1
        assert body["data"] == {
            "network": "alpha",
            "person": {"identifiers": [person_id], "email_address": "ida@example.org"},
            "withdrawn_at": body["data"]["withdrawn_at"],
            "reason": "withdrawn",
        }
        assert body["data"]["withdrawn_at"].endswith("Z")
    assert receiver.to("/beta") == []  # beta may still contact ida
    assert (
        receiver.to("/a1")[0].headers["webhook-id"] == receiver.to("/a2")[0].headers["webhook-id"]
    )
    # Nothing else about the person: no name, no country, no campaign.
    for unsaid in ("Ada Example", "DE", NALOXONE):
        assert unsaid not in receiver.to("/a1")[0].body


def test_an_erased_signature_is_told_as_erased(
    app, client, demo, receiver, local_receivers_allowed
):
    alpha = network("alpha", "Alpha Network")
    signature = consenting_supporter(alpha)
    endpoint = add_endpoint(alpha, receiver.url())

    press(client, page_of(client, signature).request.path, "withdraw_signature", signature.id)
    run_outbox(app)
    send_due(budget=5)

    (request,) = receiver.requests
    data = Webhook(endpoint.secret).verify(request.body, request.headers)["data"]
    assert (data["reason"], data["person"]["email_address"]) == ("erased", "ida@example.org")


@pytest.mark.e2e
def test_a_real_worker_delivers_it_within_moments(app, client, demo, receiver, start_worker):
    alpha = network("alpha", "Alpha Network")
    signature = consenting_supporter(alpha)
    endpoint = add_endpoint(alpha, receiver.url())
    worker = start_worker(**LOCAL_RECEIVER_ENV)

    press(client, page_of(client, signature).request.path, "withdraw_network", alpha.id)

    (request,) = receiver.wait_for(1, timeout=20)
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body["type"] == "supporter.consent_withdrawn"
    assert json.loads(request.body)["data"]["person"]["email_address"] == "ida@example.org"

    def delivered() -> bool:
        db.session.rollback()  # what the worker committed
        statuses = db.session.scalars(select(WebhookDelivery.status)).all()
        return statuses == [WebhookStatus.DELIVERED]

    wait_until(lambda: unprocessed_events() == 0 and delivered(), timeout=20)
    wait_until(worker.is_idle)
    assert len(receiver.requests) == 1
