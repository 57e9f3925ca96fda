"""GET /metrics in this process (one process: no multiprocess directory): the token, bounded
labels, and each counter and gauge moving when what it counts happens. Counters of a worker
process added up with the web's are tested in test_live_stack.py."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from campaigns.core.tasks import QUEUES, TRANSACTIONAL
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.webhooks import delivery
from tests.observability.conftest import TOKEN
from tests.support import confirm_by_link, links_in, run_outbox, sign
from tests.webhooks.conftest import add_endpoint
from tests.webhooks.test_delivery import make_due, queue

Samples = dict[tuple[str, frozenset], float]


def scrape(client) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_without_a_configured_token_there_is_no_endpoint(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "")
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.usefixtures("metrics_token")
def test_only_the_token_opens_it(client):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    assert value(scrape(client), "campaigns_metrics_source_up", source="database") == 1


@pytest.mark.usefixtures("metrics_token")
def test_requests_are_counted_by_endpoint_and_status_class_never_by_url(app, client, demo):
    before = scrape(client)
    made_up = [f"/{uuid.uuid4().hex}/{n}?token=x{n}" for n in range(5)]
    for url in made_up:
        assert client.get(url).status_code == 404
    assert client.get("/en/c/naloxone-in-every-pocket").status_code == 200
    assert client.get("/en/c/no-such-campaign").status_code == 404

    after = scrape(client)
    count = "campaigns_http_request_duration_seconds_count"
    assert value(after, count, endpoint="unmatched", status="4xx") - value(
        before, count, endpoint="unmatched", status="4xx"
    ) == len(made_up)
    assert (
        value(after, count, endpoint="petitions.petition", status="2xx")
        - value(before, count, endpoint="petitions.petition", status="2xx")
        == 1
    )
    assert (
        value(after, count, endpoint="petitions.petition", status="4xx")
        - value(before, count, endpoint="petitions.petition", status="4xx")
        == 1
    )
    # No label value came from the URLs: each is a route's name, or "unmatched".
    endpoints = {dict(labels)["endpoint"] for name, labels in after if name == count}
    assert endpoints <= {rule.endpoint for rule in app.url_map.iter_rules()} | {"unmatched"}
    # The histogram has every bucket, the largest being all of them.
    inf = value(after, "campaigns_http_request_duration_seconds_bucket",
                endpoint="unmatched", status="4xx", le="+Inf")  # fmt: skip
    assert inf == value(after, count, endpoint="unmatched", status="4xx")


@pytest.mark.usefixtures("metrics_token")
def test_signing_confirming_and_mail_move_their_counters(app, client, demo, mailbox):
    before = scrape(client)
    sign(client, email="counted@example.org")
    # The confirmation waits in the outbox, and its drain task in the transactional queue.
    waiting = scrape(client)
    assert value(waiting, "campaigns_outbox_waiting_events") >= 1
    assert value(waiting, "campaigns_outbox_oldest_waiting_seconds") >= 0
    assert value(waiting, "campaigns_queue_length", queue=TRANSACTIONAL) >= 1
    assert {dict(k[1])["queue"] for k in waiting if k[0] == "campaigns_queue_length"} == set(QUEUES)

    run_outbox(app)  # as the worker would: the confirmation mail goes out
    [message] = mailbox.wait_for(1)
    confirm_by_link(client, next(link for link in links_in(message) if "/confirm/" in link))
    run_outbox(app)
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("campaigns_signatures_created_total", kind="petition") == 1
    assert moved("campaigns_signatures_confirmed_total", kind="petition") == 1
    assert moved("campaigns_mails_total", kind="petitions/confirm", outcome="sent") == 1
    assert value(after, "campaigns_outbox_waiting_events") == 0
    assert value(after, "campaigns_outbox_oldest_waiting_seconds") == 0


@pytest.mark.usefixtures("metrics_token")
def test_a_mail_refused_for_good_counts_as_failed(app, client, demo, mailbox):
    before = scrape(client)
    mailbox.reply = "550 5.1.1 no such user"
    sign(client, email="refused@example.org")
    run_outbox(app)
    after = scrape(client)
    kind = {"kind": "petitions/confirm"}
    assert (
        value(after, "campaigns_mails_total", outcome="failed", **kind)
        - value(before, "campaigns_mails_total", outcome="failed", **kind)
        == 1
    )
    assert value(after, "campaigns_mails_total", outcome="sent", **kind) == value(
        before, "campaigns_mails_total", outcome="sent", **kind
    )


@pytest.mark.usefixtures("metrics_token", "local_receivers_allowed")
def test_webhook_deliveries_are_counted_by_outcome(app_ctx, client, network, receiver):
    receiver.script("/hook", statuses=[500, 200])
    add_endpoint(network, receiver.url())
    network_id = network.id
    before = scrape(client)  # a request ends the session: the network is read again
    queue(db.session.get(Network, network_id))
    delivery.send_due()  # 500: to be retried
    make_due()
    delivery.send_due()  # 200
    after = scrape(client)
    name = "campaigns_webhook_deliveries_total"
    assert value(after, name, outcome="retrying") - value(before, name, outcome="retrying") == 1
    assert value(after, name, outcome="delivered") - value(before, name, outcome="delivered") == 1
