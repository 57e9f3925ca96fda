"""Tasks that send webhooks to member networks: one published after each commit that queued
messages, and beat's tick, which sends retries as they fall due and anything a lost task or a
dead worker left behind."""

from __future__ import annotations

import time
from datetime import timedelta

from celery import shared_task
from celery.utils.log import get_task_logger
from flask import current_app

from campaigns.extensions import db
from campaigns.webhooks import delivery
from campaigns.webhooks.endpoints import notify_disabled
from campaigns.webhooks.retention import prune_log

log = get_task_logger(__name__)

# Claims new work for this long, then finishes the requests in flight (at most WEBHOOK_TIMEOUT
# more): the time limits below leave room for both.
BUDGET_SECONDS = 20.0


def _send(budget: float) -> None:
    report = delivery.send_due(budget=budget)
    if report.attempts:
        log.info(
            "webhooks: %s delivered, %s to retry, %s failed, %s cancelled",
            report.delivered,
            report.retrying,
            report.failed,
            report.cancelled,
        )


@shared_task(
    name="webhooks.send_due",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=150,
    time_limit=180,
)
def send_due(**_kwargs: object) -> None:
    """Send the messages that are due (and those falling due meanwhile) for about 20 s."""
    _send(BUDGET_SECONDS)


@shared_task(
    name="webhooks.tick",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=150,
    time_limit=180,
)
def tick(**_kwargs: object) -> None:
    """Beat's safety net: retries that fell due, claims of dead workers, messages whose task
    was lost; then the switch-off notices an SMTP outage held back."""
    _send(BUDGET_SECONDS)
    notify_disabled()


@shared_task(name="webhooks.prune_log", acks_late=True, reject_on_worker_lost=True)
def prune(**_kwargs: object) -> int:
    """Delete the finished messages older than WEBHOOK_LOG_KEEP_DAYS (beat runs this hourly), a
    batch per transaction, for at most a minute."""
    keep = timedelta(days=current_app.config["WEBHOOK_LOG_KEEP_DAYS"])
    deadline = time.monotonic() + 60
    deleted = 0
    while True:
        batch = prune_log(keep)
        db.session.commit()
        deleted += batch
        if batch == 0 or time.monotonic() > deadline:
            if deleted:
                log.info("webhooks: %s finished messages deleted from the log", deleted)
            return deleted
