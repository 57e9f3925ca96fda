"""Tasks that deliver letters to policymakers: beat's tick, which sends what is due at the pace
each target accepts."""

from __future__ import annotations

import time
from datetime import timedelta

from celery import shared_task
from celery.utils.log import get_task_logger
from flask import current_app

from campaigns.extensions import db
from campaigns.lobbying import delivery, digest, services

log = get_task_logger(__name__)

# One tick sends for at most this long, then leaves the rest to the next (beat runs it every
# LOBBYING_TICK_INTERVAL seconds; ticks never overlap in one worker process).
TICK_BUDGET_SECONDS = 30.0


@shared_task(
    name="lobbying.tick",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=240,
    time_limit=270,  # shorter than LOBBYING_CLAIM_LEASE
)
def tick(**_kwargs: object) -> None:
    """Hand back lapsed claims, send the letters that are due (one per target per round, at the
    target's pace, in its office hours), then the daily digests that are due."""
    started = time.monotonic()
    while True:
        result = delivery.tick()
        if result.sent or result.failed:
            log.info("letters: %s sent, %s failed", result.sent, result.failed)
        if not result.more or time.monotonic() - started > TICK_BUDGET_SECONDS:
            break
    digested = digest.send_digests()
    if digested:
        log.info("letters: %s sent in daily digests", digested)


@shared_task(name="lobbying.purge_unconfirmed", acks_late=True, reject_on_worker_lost=True)
def purge_unconfirmed_letters(**_kwargs: object) -> int:
    """Delete letters left unconfirmed past the retention period (beat runs this hourly)."""
    days = current_app.config["UNCONFIRMED_RETENTION_DAYS"]
    deleted = services.purge_unconfirmed(timedelta(days=days))
    db.session.commit()
    return deleted
