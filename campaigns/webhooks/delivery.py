"""Sending webhook messages: claim what is due, post it from a pool of threads, record each
outcome as it comes, and retry failures on the Standard Webhooks schedule.

The rows are the outbox: `outgoing.enqueue` writes a delivery per endpoint, due at once, and a
task (published after the commit) or beat's tick runs `send_due`. A delivery is claimed by a
conditional UPDATE (status "sending", `claimed_until` a lease longer than any request), committed
before anything is posted, so two workers never post the same attempt; a worker killed mid-send
leaves a claim that lapses, and the next `send_due` takes it again. The `webhook-id` is the
delivery's `message_id`, the same on every try, so a receiver ignores a message it already has.

Requests run in a thread pool of WEBHOOK_CONCURRENCY threads that do HTTP only; the main thread
alone touches the database. It records each outcome as soon as its request ends, and refills
the pool with newly due work meanwhile, so a receiver that takes 10 s to answer holds one thread
and nobody else's messages.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from campaigns.core.db import utcnow
from campaigns.core.metrics import count_webhook_delivery
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.webhooks import http
from campaigns.webhooks.claimer import ClaimerLock
from campaigns.webhooks.endpoints import FAILING, GONE, disable, notify_disabled
from campaigns.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
)
from campaigns.webhooks.outgoing import DUE_FLAG, enqueue, new_message_id, publish_send_due
from campaigns.webhooks.signing import EndpointKeys, headers

log = logging.getLogger(__name__)

NO_SYNC = {"synchronize_session": False}

# Standard Webhooks' schedule: retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h
# after the first try (about a day in all), each wait with jitter so that messages failed
# together are not all retried in the same second.
RETRY_AFTER_FIRST_TRY = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
# The wait after each failed try: the schedule's steps.
RETRY_DELAYS = tuple(
    later - earlier
    for earlier, later in zip((0, *RETRY_AFTER_FIRST_TRY[:-1]), RETRY_AFTER_FIRST_TRY, strict=True)
)
JITTER = 0.1
# How often the main thread looks for newly due work while requests are in flight.
POLL_SECONDS = 0.25
DEFAULT_BUDGET_SECONDS = 20.0


def claim_lease() -> timedelta:
    """How long a claim holds: longer than any request (WEBHOOK_TIMEOUT, plus a lookup that the
    deadline cannot interrupt), so a live worker's claim never lapses under it."""
    return timedelta(seconds=2 * current_app.config["WEBHOOK_TIMEOUT"] + 10)


def retry_delay(attempts: int) -> timedelta | None:
    """The wait before the next try after `attempts` failed ones; None once the schedule is
    spent (the message then failed for good)."""
    if attempts < 1 or attempts > len(RETRY_DELAYS):
        return None
    seconds = RETRY_DELAYS[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Outgoing:
    """One claimed attempt, as plain values a sending thread may hold."""

    delivery_id: int
    endpoint_id: int
    number: int  # the attempt's number: the delivery's `attempts` after the claim
    url: str
    message_id: str
    body: str
    keys: EndpointKeys


@dataclass
class SendReport:
    delivered: int = 0
    retrying: int = 0  # failed, tried again later
    failed: int = 0  # failed for good (or 410 Gone)
    cancelled: int = 0  # failed while its endpoint was switched off
    disabled: list[int] = field(default_factory=list)  # endpoints switched off by failure

    @property
    def attempts(self) -> int:
        return self.delivered + self.retrying + self.failed + self.cancelled


def _due(now: datetime) -> object:
    return or_(
        and_(
            WebhookDelivery.status == WebhookStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        ),
        # A worker died mid-send: its claim lapsed.
        and_(
            WebhookDelivery.status == WebhookStatus.SENDING,
            WebhookDelivery.claimed_until < now,
        ),
    )


def claim(limit: int, now: datetime | None = None) -> list[Outgoing]:
    """Claim up to `limit` due deliveries and commit the claims; return what to post. Those of
    an endpoint switched off meanwhile, or of a network deactivated meanwhile (which receives
    nothing more), are cancelled instead."""
    now = now or utcnow()
    rows = db.session.execute(
        select(
            WebhookDelivery.id,
            and_(WebhookEndpoint.is_active, Network.is_active).label("is_active"),
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(Network, Network.id == WebhookEndpoint.network_id)
        .where(_due(now))
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        # Another worker's rows are left to it (PostgreSQL; SQLite has one writer anyway).
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    inactive = [row.id for row in rows if not row.is_active]
    if inactive:
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(inactive), _due(now))
            .values(status=WebhookStatus.CANCELLED, next_attempt_at=None),
            execution_options=NO_SYNC,
        )
    active = [row.id for row in rows if row.is_active]
    numbers: dict[int, int] = {}
    if active:
        numbers = dict(
            db.session.execute(
                update(WebhookDelivery)
                # The condition again: a row another worker claimed since the SELECT is skipped.
                .where(WebhookDelivery.id.in_(active), _due(now))
                .values(
                    status=WebhookStatus.SENDING,
                    claimed_until=now + claim_lease(),
                    attempts=WebhookDelivery.attempts + 1,
                )
                .returning(WebhookDelivery.id, WebhookDelivery.attempts),
                execution_options=NO_SYNC,
            ).all()
        )
    outgoing = []
    if numbers:
        # Columns, not objects: the session keeps loaded objects across commits, and the
        # secret may have been rotated since.
        claimed = db.session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.endpoint_id,
                WebhookDelivery.message_id,
                WebhookDelivery.body,
                WebhookEndpoint.url,
                WebhookEndpoint.secret,
                WebhookEndpoint.previous_secret,
                WebhookEndpoint.previous_secret_until,
            )
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id.in_(numbers))
            .order_by(WebhookDelivery.next_attempt_at)
        ).all()
        outgoing = [
            Outgoing(
                delivery_id=row.id,
                endpoint_id=row.endpoint_id,
                number=numbers[row.id],
                url=row.url,
                message_id=row.message_id,
                body=row.body,
                keys=EndpointKeys(row.secret, row.previous_secret, row.previous_secret_until),
            )
            for row in claimed
        ]
    db.session.commit()  # the claims, before any request goes
    return outgoing


def _attempt(outgoing: Outgoing, limits: http.Limits) -> tuple[datetime, http.Result]:
    """One POST, in a sending thread: signed now, with the message's own id."""
    attempted_at = utcnow()
    try:
        signed = headers(outgoing.keys, outgoing.message_id, outgoing.body, attempted_at)
        result = http.post(outgoing.url, outgoing.body.encode("utf-8"), signed, limits)
    except Exception as exc:  # a bug must not lose the claim's outcome
        log.exception("webhook %s: sending failed", outgoing.message_id)
        result = http.Result(None, 0, f"internal error: {type(exc).__name__}")
    return attempted_at, result


def send_due(budget: float = DEFAULT_BUDGET_SECONDS, limit: int | None = None) -> SendReport:
    """Send what is due, and what falls due meanwhile, for up to `budget` seconds (then finish
    the requests in flight); or stop when nothing is due and nothing in flight. `limit` caps how
    many deliveries this call takes. Commits each claim and each outcome. Returns at once if
    another run is claiming (campaigns.webhooks.claimer)."""
    lock = ClaimerLock(budget)
    if not lock.acquire():
        return SendReport()
    config = current_app.config
    limits = http.Limits.from_config(config)
    concurrency = max(1, int(config["WEBHOOK_CONCURRENCY"]))
    stop_claiming_at = time.monotonic() + budget
    report = SendReport()
    taken = 0
    claiming = True
    in_flight: dict[Future, Outgoing] = {}
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")
    try:
        while True:
            if claiming and time.monotonic() >= stop_claiming_at:
                # Hand over before waiting for the last (perhaps slow) requests.
                claiming = False
                lock.release()
                publish_send_due()
            room = concurrency - len(in_flight)
            if limit is not None:
                room = min(room, limit - taken)
            if claiming and room > 0:
                for outgoing in claim(room):
                    in_flight[pool.submit(_attempt, outgoing, limits)] = outgoing
                    taken += 1
            if not in_flight:
                break
            done, _pending = wait(in_flight, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                attempted_at, result = future.result()
                record(in_flight.pop(future), attempted_at, result, report)
    finally:
        # Normally nothing is left; after an error (a time limit) the claims simply lapse.
        pool.shutdown(wait=not in_flight, cancel_futures=True)
        if claiming:
            lock.release()
    # Work committed after this run's last look, whose own send_due found the lock taken.
    if claiming and _anything_due():
        publish_send_due()
    if report.disabled:
        notify_disabled()
    return report


def _anything_due() -> bool:
    return bool(db.session.scalar(select(exists().where(_due(utcnow())))))


def record(
    outgoing: Outgoing, attempted_at: datetime, result: http.Result, report: SendReport
) -> None:
    """Log the attempt and move the delivery on (delivered, retry later, failed), in a commit
    of its own, as soon as the request ended."""
    # Read afresh: the session keeps loaded objects across commits (expire_on_commit is off).
    delivery = db.session.get(WebhookDelivery, outgoing.delivery_id, populate_existing=True)
    endpoint = db.session.get(WebhookEndpoint, outgoing.endpoint_id, populate_existing=True)
    if (
        delivery is None or endpoint is None
    ):  # the endpoint was deleted while the request was in flight
        db.session.rollback()
        return
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            endpoint_id=outgoing.endpoint_id,
            number=outgoing.number,
            attempted_at=attempted_at,
            status_code=result.status,
            latency_ms=result.latency_ms,
            detail=result.detail[:500],
        )
    )
    # Still our claim? (It always is unless the lease ran out under a stalled lookup.)
    if delivery.status == WebhookStatus.SENDING and delivery.attempts == outgoing.number:
        _settle(delivery, endpoint, result, report)
        count_webhook_delivery(delivery.status)
    try:
        db.session.commit()  # each outcome as soon as it is known
    except IntegrityError:  # the endpoint was deleted meanwhile, with its messages
        db.session.rollback()


def _settle(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint, result: http.Result, report: SendReport
) -> None:
    now = utcnow()
    delivery.claimed_until = None
    delivery.next_attempt_at = None
    if result.ok:
        delivery.status = WebhookStatus.DELIVERED
        delivery.delivered_at = now
        endpoint.consecutive_failures = 0
        report.delivered += 1
        return
    if result.status == 410:  # Gone: the receiver asks us to stop, at once
        delivery.status = WebhookStatus.FAILED
        if endpoint.is_active:
            disable(endpoint, GONE, now)
        report.failed += 1
        return
    if not endpoint.is_active:  # switched off while this was in flight
        delivery.status = WebhookStatus.CANCELLED
        report.cancelled += 1
        return
    delay = retry_delay(delivery.attempts)
    if delay is not None:
        delivery.status = WebhookStatus.PENDING
        delivery.next_attempt_at = now + delay
        report.retrying += 1
        return
    delivery.status = WebhookStatus.FAILED
    report.failed += 1
    # In SQL, so that two workers failing messages of one endpoint at once both count.
    endpoint.consecutive_failures = WebhookEndpoint.consecutive_failures + 1
    db.session.flush()
    if endpoint.consecutive_failures >= current_app.config["WEBHOOK_DISABLE_AFTER_FAILURES"]:
        disable(endpoint, FAILING, now)
        report.disabled.append(endpoint.id)


# -- what staff do from the delivery log ---------------------------------------------------------


def may_send(endpoint: WebhookEndpoint) -> bool:
    """Whether messages go to this endpoint: it is switched on and its network is active."""
    return endpoint.is_active and endpoint.network.is_active


def resend(delivery: WebhookDelivery, now: datetime | None = None) -> bool:
    """Send the message again, now, with its own webhook-id (a receiver that has it already
    ignores it). False if it is in flight right now or nothing may go to its endpoint."""
    if delivery.status == WebhookStatus.SENDING or not may_send(delivery.endpoint):
        return False
    delivery.status = WebhookStatus.PENDING
    delivery.next_attempt_at = now or utcnow()
    delivery.claimed_until = None
    db.session.info[DUE_FLAG] = True  # published once the caller commits
    return True


def resend_cancelled(endpoint: WebhookEndpoint, now: datetime | None = None) -> int:
    """Send every cancelled message of the endpoint again, now, each with its own webhook-id;
    returns how many. The way back for messages cancelled before their first try (the endpoint
    was switched off: by staff, by a 410, by repeated failure), which have no line in the
    delivery log to resend from. 0 if nothing may go to the endpoint."""
    if not may_send(endpoint):
        return 0
    resent = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == WebhookStatus.CANCELLED,
        )
        .values(status=WebhookStatus.PENDING, next_attempt_at=now or utcnow(), claimed_until=None),
        execution_options=NO_SYNC,
    ).rowcount
    if resent:
        db.session.info[DUE_FLAG] = True  # published once the caller commits
    return resent


def send_test(endpoint: WebhookEndpoint) -> str | None:
    """Queue a "webhook.test" message to this endpoint only. Returns its webhook-id, or None
    if nothing may go to it (switched off, or its network deactivated)."""
    message_id = new_message_id()
    data = {
        "network": endpoint.network.slug,
        "endpoint_id": endpoint.id,
        "message": "A test event sent from the campaign platform's staff workspace.",
    }
    added = enqueue(endpoint.network_id, message_id, "webhook.test", data, endpoint_id=endpoint.id)
    return message_id if added else None
