"""Delivery by `send_due`, in this process, against a real receiver on loopback: retries with
the same webhook-id and a valid signature each time, 410 Gone, switching off after repeated
failure (with an email to the network), a lapsed claim taken again, resend and test events, and
a slow receiver that holds up no one else."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook

from campaigns.core.redis import get_redis, key
from campaigns.core.tasks import WEBHOOKS
from campaigns.extensions import db
from campaigns.webhooks import delivery
from campaigns.webhooks.claimer import ClaimerLock
from campaigns.webhooks.endpoints import notify_disabled
from campaigns.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
)
from campaigns.webhooks.outgoing import enqueue, new_message_id
from tests.support import text_part
from tests.webhooks.conftest import add_endpoint, make_network

pytestmark = pytest.mark.usefixtures("local_receivers_allowed")


def queue(network, event_type: str = "petition.milestone_reached", **data) -> str:
    message_id = new_message_id()
    enqueue(network.id, message_id, event_type, data or {"signatures": 1000})
    db.session.commit()
    return message_id


def deliveries(**where) -> list[WebhookDelivery]:
    db.session.expire_all()
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    return list(db.session.scalars(query))


def make_due() -> None:
    """As if the retry's time had come."""
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == WebhookStatus.PENDING)
        .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()


def verify(endpoint: WebhookEndpoint, request) -> dict:
    return Webhook(endpoint.secret).verify(request.body, request.headers)


def test_the_schedule_is_standard_webhooks_with_jitter():
    first = delivery.retry_delay(1).total_seconds()
    assert 4.5 <= first <= 5.5
    assert 0.9 * 295 <= delivery.retry_delay(2).total_seconds() <= 1.1 * 295
    assert 0.9 * 14400 <= delivery.retry_delay(9).total_seconds() <= 1.1 * 14400
    assert sum(delivery.RETRY_DELAYS) == 24 * 3600  # the last retry a day after the first try
    assert delivery.retry_delay(10) is None  # ten tries in all, then failed for good
    assert len({delivery.retry_delay(3) for _ in range(20)}) > 1  # jitter


def test_a_500_is_retried_with_the_same_webhook_id_and_a_valid_signature(
    app_ctx, network, receiver
):
    receiver.script("/hook", statuses=[500, 200], body=b"try later")
    endpoint = add_endpoint(network, receiver.url())
    message_id = queue(network)

    report = delivery.send_due()
    assert (report.retrying, report.delivered) == (1, 0)
    (waiting,) = deliveries()
    assert waiting.status == WebhookStatus.PENDING
    (first,) = waiting.attempt_log
    assert (first.number, first.status_code, first.detail) == (1, 500, "try later")
    wait = (waiting.next_attempt_at - first.attempted_at).total_seconds()
    assert 4.4 <= wait <= 5.6
    assert delivery.send_due().attempts == 0  # not due yet

    make_due()
    assert delivery.send_due().delivered == 1
    (done,) = deliveries()
    assert done.status == WebhookStatus.DELIVERED
    assert [a.number for a in done.attempt_log] == [1, 2]
    assert [a.status_code for a in done.attempt_log] == [500, 200]

    requests = receiver.to("/hook")
    assert [r.headers["webhook-id"] for r in requests] == [message_id, message_id]
    assert requests[0].body == requests[1].body == done.body
    for request in requests:
        assert verify(endpoint, request)["data"] == {"signatures": 1000}


def test_a_410_switches_the_endpoint_off_at_once_and_nothing_more_goes(app_ctx, network, receiver):
    receiver.script("/gone", statuses=[410])
    endpoint = add_endpoint(network, receiver.url("/gone"))
    other = add_endpoint(network, receiver.url("/other"))
    queue(network)

    delivery.send_due()
    db.session.expire_all()
    assert endpoint.is_active is False
    assert endpoint.disabled_reason == "gone"
    assert endpoint.disabled_at is not None
    assert other.is_active is True
    (gone,) = deliveries(endpoint_id=endpoint.id)
    assert gone.status == WebhookStatus.FAILED

    # A message queued before the 410 was recorded (and one after) never goes.
    db.session.add(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            message_id=new_message_id(),
            event_type="campaign.launched",
            body="{}",
            next_attempt_at=datetime.now(UTC),
        )
    )
    db.session.commit()
    queue(network)
    make_due()
    delivery.send_due()
    assert len(receiver.to("/gone")) == 1
    assert len(receiver.to("/other")) == 2
    assert {d.status for d in deliveries(endpoint_id=endpoint.id)[1:]} == {WebhookStatus.CANCELLED}


def test_repeated_failure_switches_off_and_tells_the_network_by_email(
    app, app_ctx, receiver, mailbox, monkeypatch
):
    network = make_network(contacts=("alerts@aides.example.org", "tech@aides.example.org"))
    monkeypatch.setitem(app.config, "WEBHOOK_DISABLE_AFTER_FAILURES", 3)
    monkeypatch.setattr(delivery, "RETRY_DELAYS", ())  # each failure is final at once
    receiver.script("/broken", statuses=[503], body=b"maintenance")
    endpoint = add_endpoint(network, receiver.url("/broken"))

    for _ in range(2):
        queue(network)
        delivery.send_due()
    db.session.expire_all()
    assert endpoint.is_active
    assert endpoint.consecutive_failures == 2
    assert mailbox.messages == []

    queue(network)
    report = delivery.send_due()
    assert report.disabled == [endpoint.id]
    db.session.expire_all()
    assert not endpoint.is_active
    assert endpoint.disabled_reason == "failing"
    messages = mailbox.wait_for(2)
    assert sorted(str(m["To"]) for m in messages) == [
        "alerts@aides.example.org",
        "tech@aides.example.org",
    ]
    body = text_part(messages[0])
    assert receiver.url("/broken") in body
    assert "503" in body
    assert "maintenance" in body
    assert f"/staff/networks/{network.id}/webhooks/" in body
    assert messages[0]["Content-Language"] == "fr"  # the network's language

    assert notify_disabled() == 0  # once per switch-off, whatever the ticks
    assert len(mailbox.messages) == 2

    queue(network)
    delivery.send_due()
    assert len(receiver.to("/broken")) == 3  # switched off: nothing more goes


def test_a_success_resets_the_failure_count(app, app_ctx, network, receiver, monkeypatch):
    monkeypatch.setattr(delivery, "RETRY_DELAYS", ())
    receiver.script("/flaky", statuses=[500, 200])
    endpoint = add_endpoint(network, receiver.url("/flaky"))
    queue(network)
    delivery.send_due()
    db.session.expire_all()
    assert endpoint.consecutive_failures == 1
    queue(network)
    delivery.send_due()
    db.session.expire_all()
    assert endpoint.consecutive_failures == 0


def test_a_claim_left_by_a_dead_worker_lapses_and_the_message_goes_again(
    app_ctx, network, receiver
):
    endpoint = add_endpoint(network, receiver.url())
    message_id = queue(network)
    (claimed,) = delivery.claim(10)  # ... and the worker died before it posted
    assert claimed.number == 1
    (held,) = deliveries()
    assert held.status == WebhookStatus.SENDING
    lease = (held.claimed_until - datetime.now(UTC)).total_seconds()
    assert lease > app_ctx.config["WEBHOOK_TIMEOUT"]
    assert delivery.send_due().attempts == 0  # the claim holds

    db.session.execute(
        update(WebhookDelivery).values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    assert delivery.send_due().delivered == 1
    (done,) = deliveries()
    assert done.status == WebhookStatus.DELIVERED
    assert [a.number for a in done.attempt_log] == [2]
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == message_id
    assert verify(endpoint, request)


def test_resend_and_test_events(app_ctx, network, receiver):
    endpoint = add_endpoint(network, receiver.url("/one"))
    add_endpoint(network, receiver.url("/two"))
    message_id = queue(network)
    delivery.send_due()

    (sent,) = deliveries(endpoint_id=endpoint.id)
    assert delivery.resend(sent)
    db.session.commit()
    delivery.send_due()
    assert [r.headers["webhook-id"] for r in receiver.to("/one")] == [message_id, message_id]
    assert len(receiver.to("/two")) == 1

    test_id = delivery.send_test(endpoint)
    db.session.commit()
    delivery.send_due()
    (test_request,) = [r for r in receiver.requests if r.headers["webhook-id"] == test_id]
    assert test_request.path == "/one"
    assert verify(endpoint, test_request)["type"] == "webhook.test"


def test_a_slow_receiver_holds_up_no_one_else(app, app_ctx, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT", 15)
    receiver.script("/slow", delay=10)
    networks = [make_network(f"net-{n}", f"Network {n}") for n in range(6)]
    add_endpoint(networks[0], receiver.url("/slow"))
    for n, network in enumerate(networks):
        add_endpoint(network, receiver.url(f"/fast-{n}"))
    queued_at = time.time()
    for network in networks:
        queue(network)

    # Work that falls due while the slow request is in flight is taken at once too.
    later: dict[str, float] = {}

    def queue_later() -> None:
        time.sleep(1)
        with app.app_context():
            later["queued_at"] = time.time()
            later["id"] = queue(networks[3])

    thread = threading.Thread(target=queue_later)
    thread.start()
    report = delivery.send_due()
    thread.join()

    assert report.delivered == 8
    fast = [r for r in receiver.requests if r.path.startswith("/fast")]
    assert len(fast) == 7
    (late,) = [r for r in fast if r.headers["webhook-id"] == later["id"]]
    assert late.at - later["queued_at"] < 1.0
    assert max(r.at for r in fast if r is not late) - queued_at < 2.0
    # Each outcome was recorded as its request ended, not when the slow one did.
    db.session.expire_all()
    recorded = db.session.scalars(
        select(WebhookDelivery.delivered_at)
        .join(WebhookEndpoint)
        .where(WebhookEndpoint.url.contains("/fast"))
    ).all()
    slow = db.session.scalar(
        select(WebhookDelivery.delivered_at)
        .join(WebhookEndpoint)
        .where(WebhookEndpoint.url.contains("/slow"))
    )
    assert max(recorded) < slow - timedelta(seconds=7)
    assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == 8


def test_one_run_claims_at_a_time_and_hands_over_before_waiting_for_slow_requests(
    app, app_ctx, network, receiver
):
    receiver.script("/slow", delay=3)
    add_endpoint(network, receiver.url("/slow"))
    other = make_network("other", "Other network")
    add_endpoint(other, receiver.url("/fast"))

    holder = ClaimerLock(budget=5)
    assert holder.acquire()
    queue(network)
    assert delivery.send_due().attempts == 0  # the holder claims: this run leaves it the work
    holder.release()

    broker = get_redis()
    published_before = broker.llen(key(WEBHOOKS))
    first: dict[str, delivery.SendReport] = {}

    def slow_run() -> None:
        with app.app_context():
            first["report"] = delivery.send_due(budget=0.5)

    thread = threading.Thread(target=slow_run)
    thread.start()
    time.sleep(1.5)  # the first run's budget is over; its request to /slow is still in flight
    assert thread.is_alive()
    assert broker.llen(key(WEBHOOKS)) == published_before + 1  # a successor was published
    queued_at = time.time()
    queue(other)
    assert delivery.send_due().delivered == 1  # the successor claims at once
    (fast,) = receiver.to("/fast")
    assert fast.at - queued_at < 1.0
    thread.join()
    assert first["report"].delivered == 1
