"""Webhooks sent by real Celery workers to a real receiver on loopback: a committed message
arrives within moments, a 500 is retried with the same webhook-id and a 410 stops everything,
and a worker killed in the middle of a request loses nothing."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from campaigns.extensions import db
from campaigns.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookStatus
from campaigns.webhooks.outgoing import enqueue, new_message_id
from tests.support import wait_until
from tests.webhooks.conftest import LOCAL_RECEIVER_ENV, add_endpoint

pytestmark = pytest.mark.e2e


def queue(network) -> str:
    message_id = new_message_id()
    enqueue(network.id, message_id, "campaign.launched", {"campaign": {"slug": "housing-first"}})
    db.session.commit()  # ... and the task goes out once this commits
    return message_id


def statuses() -> dict[int, WebhookStatus]:
    db.session.rollback()  # read what the workers committed
    return dict(db.session.execute(select(WebhookDelivery.id, WebhookDelivery.status)).all())


def beat(app) -> None:
    """What beat does every WEBHOOK_TICK_INTERVAL seconds."""
    app.extensions["celery"].send_task("webhooks.tick")


def test_a_committed_message_reaches_the_receiver_within_moments(
    app_ctx, network, receiver, start_worker
):
    endpoint = add_endpoint(network, receiver.url())
    worker = start_worker(**LOCAL_RECEIVER_ENV)

    queued_at = time.time()
    message_id = queue(network)
    (request,) = receiver.wait_for(1, timeout=10)
    assert request.at - queued_at < 3
    assert request.headers["webhook-id"] == message_id
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "campaign.launched"
    wait_until(lambda: set(statuses().values()) == {WebhookStatus.DELIVERED}, timeout=10)
    wait_until(worker.is_idle)
    assert len(receiver.requests) == 1


def test_a_500_is_retried_with_the_same_id_and_a_410_stops_the_endpoint(
    app, app_ctx, network, receiver, start_worker
):
    receiver.script("/retry", statuses=[500, 200])
    receiver.script("/gone", statuses=[410])
    retried = add_endpoint(network, receiver.url("/retry"))
    gone = add_endpoint(network, receiver.url("/gone"))
    worker = start_worker(**LOCAL_RECEIVER_ENV)

    message_id = queue(network)
    receiver.wait_for(1, path="/gone", timeout=10)
    # The retry falls due after about 5 s; beat's tick sends it.
    wait_until(
        lambda: len(receiver.to("/retry")) >= 2, timeout=30, interval=1, every=lambda: beat(app)
    )
    first, second = receiver.to("/retry")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == message_id
    for request in (first, second):
        assert Webhook(retried.secret).verify(request.body, request.headers)
    assert 4 < second.at - first.at < 10
    wait_until(lambda: WebhookStatus.SENDING not in statuses().values(), timeout=10)

    db.session.rollback()
    gone = db.session.get(type(gone), gone.id, populate_existing=True)
    assert not gone.is_active
    assert gone.disabled_reason == "gone"

    queue(network)  # a later message: only the endpoint still on receives it
    receiver.wait_for(3, path="/retry", timeout=10)
    for _ in range(3):
        beat(app)
    wait_until(worker.is_idle)
    assert len(receiver.to("/gone")) == 1


def test_a_worker_killed_mid_request_loses_nothing(app, app_ctx, network, receiver, start_worker):
    settings = {**LOCAL_RECEIVER_ENV, "WEBHOOK_TIMEOUT": "3"}  # a claim lease of 16 s
    stall = threading.Event()
    receiver.script("/hook", stall=stall)  # the first request hangs...
    endpoint = add_endpoint(network, receiver.url())
    doomed = start_worker(concurrency=1, **settings)

    message_id = queue(network)
    receiver.wait_for(1, timeout=10)
    os.killpg(doomed.process.pid, signal.SIGKILL)  # ... and its worker dies
    doomed.process.wait()
    receiver.script("/hook")  # from now on the receiver answers at once
    (held,) = statuses().values()
    assert held == WebhookStatus.SENDING

    start_worker(**settings)
    wait_until(
        lambda: set(statuses().values()) == {WebhookStatus.DELIVERED},
        timeout=60,
        interval=1,
        every=lambda: beat(app),
    )
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == message_id
    assert Webhook(endpoint.secret).verify(second.body, second.headers)
    numbers = db.session.scalars(select(WebhookAttempt.number)).all()
    assert numbers == [2]  # the dead worker's try left no record, but counts
    stall.set()
