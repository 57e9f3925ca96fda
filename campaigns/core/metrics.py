"""Prometheus metrics: every metric the platform exports, defined here, and `GET /metrics`.

Services count what happens where it happens, with one call each (`count_signature`,
`count_mails`, ...). Gauges of state (the outbox backlog, queue depths) are not kept by
anyone: they are read at scrape time, with one query and one Redis round trip.

Gunicorn and Celery (prefork) run several processes, each with its own counters. With
`PROMETHEUS_MULTIPROC_DIR` set in their environment, every process writes its counters to files
in that directory and `/metrics` adds them up (prometheus-client's multiprocess mode). The
variable must be set before prometheus_client is first imported (so in the environment of the
service, not in `.env`), the directory must be shared by the web and worker processes of one
host, and emptied when the service starts (see README, Deploying, Metrics). Without it, each
process counts for itself only: enough for a single process (tests, `flask run`).

`/metrics` answers only with `Authorization: Bearer <METRICS_TOKEN>`; with no token configured
it does not exist (404).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from campaigns.core.db import utcnow
from campaigns.core.events import Event
from campaigns.core.redis import get_redis, key
from campaigns.core.tasks import QUEUES
from campaigns.extensions import db

log = logging.getLogger(__name__)

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
if MULTIPROC_DIR:
    os.makedirs(MULTIPROC_DIR, exist_ok=True)
    if values.ValueClass is values.MutexValue:  # imported before the variable was set
        log.warning("PROMETHEUS_MULTIPROC_DIR was set too late: each process counts alone")

# -- the metrics ---------------------------------------------------------------------------------

# Its `_count` is the request count. Labelled by Flask endpoint (a route's name, "unmatched" for
# a URL no route matches) and status class, never by URL: the label values stay a bounded set
# whatever URLs visitors make up.
REQUEST_SECONDS = Histogram(
    "campaigns_http_request_duration_seconds",
    "Time from the start of the request's handling to its response, by endpoint and status class",
    ["endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SIGNATURES_CREATED = Counter(
    "campaigns_signatures_created_total",
    "Signatures stored (awaiting confirmation), by kind: petition or letter",
    ["kind"],
)
SIGNATURES_CONFIRMED = Counter(
    "campaigns_signatures_confirmed_total",
    "Signatures confirmed by their signer, by kind: petition or letter",
    ["kind"],
)
MAILS = Counter(
    "campaigns_mails_total",
    "Mails handed to the mail server (sent) or refused by it for good (failed), by kind: the "
    "template of a transactional mail, 'mailing' or 'letter'",
    ["kind", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "campaigns_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retrying, failed (for good), cancelled",
    ["outcome"],
)

REQUESTS_SHED = Counter(
    "campaigns_http_requests_shed_total",
    "Requests refused with a 503 because they had waited too long (campaigns.serving.shedding); "
    "not in campaigns_http_request_duration_seconds, which counts what the app handled",
)

# A webhook delivery's status after an attempt -> the outcome it counts as.
_WEBHOOK_OUTCOMES = {"delivered": "delivered", "pending": "retrying", "failed": "failed"}


# -- what services call --------------------------------------------------------------------------


def count_signature(kind: str, stage: str) -> None:
    """A signature of `kind` ("petition", "letter") reached `stage` ("created", "confirmed")."""
    (SIGNATURES_CREATED if stage == "created" else SIGNATURES_CONFIRMED).labels(kind).inc()


def count_mails(kind: str, sent: int = 0, failed: int = 0) -> None:
    """Mails of `kind` sent, and refused for good."""
    if sent:
        MAILS.labels(kind, "sent").inc(sent)
    if failed:
        MAILS.labels(kind, "failed").inc(failed)


def count_shed_request() -> None:
    REQUESTS_SHED.inc()


def count_webhook_delivery(status: str) -> None:
    """A webhook attempt settled its delivery in `status` (a WebhookStatus value)."""
    WEBHOOK_DELIVERIES.labels(_WEBHOOK_OUTCOMES.get(str(status), "cancelled")).inc()


# -- requests ------------------------------------------------------------------------------------


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        REQUEST_SECONDS.labels(
            request.endpoint or "unmatched", f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
    return response


# -- scrape-time state ---------------------------------------------------------------------------


class StateCollector:
    """Gauges read when Prometheus scrapes: the outbox backlog and the Celery queue depths. A
    source that does not answer is reported as down rather than failing the scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "campaigns_metrics_source_up",
            "Whether the scrape could read this source (database, redis)",
            labels=["source"],
        )
        try:
            waiting, oldest = db.session.execute(
                select(func.count(), func.min(Event.created_at)).where(Event.processed_at.is_(None))
            ).one()
            db.session.rollback()
        except Exception as exc:  # noqa: BLE001 - the database being down is itself the news
            log.warning("metrics: the database did not answer: %s", exc)
            db.session.rollback()
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            yield GaugeMetricFamily(
                "campaigns_outbox_waiting_events",
                "Outbox events committed but not processed yet",
                value=waiting,
            )
            yield GaugeMetricFamily(
                "campaigns_outbox_oldest_waiting_seconds",
                "Age of the oldest outbox event not processed yet (0 when none waits)",
                value=(utcnow() - oldest).total_seconds() if oldest else 0.0,
            )
        try:
            pipe = get_redis().pipeline(transaction=False)
            for queue in QUEUES:
                pipe.llen(key(queue))  # the broker's list for the queue (its keys are prefixed)
            depths = pipe.execute()
        except Exception as exc:  # noqa: BLE001 - as above
            log.warning("metrics: Redis did not answer: %s", exc)
            up.add_metric(["redis"], 0)
        else:
            up.add_metric(["redis"], 1)
            queued = GaugeMetricFamily(
                "campaigns_queue_length",
                "Tasks waiting in each Celery queue (not counting those a worker has taken)",
                labels=["queue"],
            )
            for queue, depth in zip(QUEUES, depths, strict=True):
                queued.add_metric([queue], depth)
            yield queued
        yield up


def scrape() -> bytes:
    """The exposition text: every process's counters, and the state read now."""
    registry = CollectorRegistry()
    if MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry.register(REGISTRY)
    registry.register(StateCollector())
    return generate_latest(registry)


def _metrics_view() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            "unauthorized\n", 401, {"WWW-Authenticate": "Bearer", "Content-Type": "text/plain"}
        )
    return Response(
        scrape(), 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )


def init_metrics(app: Flask) -> None:
    """Time every request, and serve `GET /metrics`."""
    # First of all before_request functions, so the time includes those that come before the
    # view (and is taken even when one of them answers, say, a 503 of load shedding).
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_observe)
    app.add_url_rule("/metrics", "metrics", _metrics_view, methods=["GET"])
