"""What stops messages and what brings them back, with `send_due` in this process against a real
receiver on loopback: a deactivated network receives nothing more (its waiting messages are
cancelled, never sent), messages cancelled before their first try go again once resent with
their own webhook-id, and an address with a non-ASCII path is delivered."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update

from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.webhooks import delivery
from campaigns.webhooks.endpoints import STAFF, disable, enable
from campaigns.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
)
from campaigns.webhooks.outgoing import enqueue, new_message_id
from tests.webhooks.conftest import add_endpoint, make_network

pytestmark = pytest.mark.usefixtures("local_receivers_allowed")


def queue(network: Network) -> str:
    message_id = new_message_id()
    enqueue(network.id, message_id, "campaign.launched", {"campaign": {"slug": "housing-first"}})
    db.session.commit()
    return message_id


def statuses() -> list[WebhookStatus]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery.status).order_by(WebhookDelivery.id)))


def set_network_active(network: Network, active: bool) -> None:
    network = db.session.get(Network, network.id, populate_existing=True)
    network.is_active = active
    db.session.commit()


def test_a_deactivated_network_receives_nothing_more(app_ctx, network, receiver):
    other = make_network("mainline-nl", "Mainline", languages=("nl", "en"))
    endpoint = add_endpoint(network, receiver.url("/aides"))
    add_endpoint(other, receiver.url("/mainline"))
    queue(network)
    queue(other)

    set_network_active(network, False)  # after the messages were queued, before they went
    report = delivery.send_due()
    assert (report.delivered, report.attempts) == (1, 1)
    time.sleep(0.2)
    assert [r.path for r in receiver.requests] == ["/mainline"]
    assert statuses() == [WebhookStatus.CANCELLED, WebhookStatus.DELIVERED]
    (cancelled,) = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    )
    assert cancelled.attempt_log == []  # never tried

    # Nothing new is queued for it either, not even a test event, and nothing resent.
    assert enqueue(network.id, new_message_id(), "campaign.launched", {}) == 0
    endpoint = db.session.get(WebhookEndpoint, endpoint.id, populate_existing=True)
    assert endpoint.is_active  # the endpoint itself stays as it was
    assert delivery.send_test(endpoint) is None
    assert not delivery.resend(cancelled)
    assert delivery.resend_cancelled(endpoint) == 0
    db.session.commit()
    assert delivery.send_due().attempts == 0
    assert len(receiver.to("/aides")) == 0


def test_a_retry_due_after_the_network_was_deactivated_is_cancelled(app_ctx, network, receiver):
    receiver.script("/hook", statuses=[500, 200])
    add_endpoint(network, receiver.url())
    queue(network)
    assert delivery.send_due().retrying == 1
    set_network_active(network, False)
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    db.session.commit()

    assert delivery.send_due().attempts == 0
    assert len(receiver.requests) == 1
    assert statuses() == [WebhookStatus.CANCELLED]


def test_messages_cancelled_before_their_first_try_go_again_once_resent(app_ctx, network, receiver):
    endpoint = add_endpoint(network, receiver.url())
    ids = [queue(network), queue(network)]
    assert disable(endpoint, STAFF) == 2  # by staff; a 410 or repeated failure does the same
    db.session.commit()
    assert delivery.resend_cancelled(endpoint) == 0  # switched off: nothing goes
    enable(endpoint)
    db.session.commit()
    assert delivery.send_due().attempts == 0  # switching on alone resends nothing

    assert delivery.resend_cancelled(endpoint) == 2
    db.session.commit()
    assert delivery.send_due().delivered == 2
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(ids)
    assert statuses() == [WebhookStatus.DELIVERED, WebhookStatus.DELIVERED]
    assert delivery.resend_cancelled(endpoint) == 0


def test_an_address_with_a_non_ascii_path_is_delivered(app_ctx, network, receiver):
    endpoint = add_endpoint(network, receiver.url("/hooks/é?x=ü"))
    message_id = queue(network)
    report = delivery.send_due()
    assert report.delivered == 1, db.session.scalars(select(WebhookAttempt.detail)).all()
    (request,) = receiver.requests
    assert request.path == "/hooks/%C3%A9?x=%C3%BC"
    assert request.headers["webhook-id"] == message_id
    assert db.session.get(WebhookEndpoint, endpoint.id).url.endswith("/hooks/é?x=ü")
