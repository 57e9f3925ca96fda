"""Tasks that send webhooks to member networks: one published after each commit that queued
messages, and beat's tick, which sends retries as they fall due and anything a lost task or a
dead worker left behind."""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from campaigns.webhooks import delivery
from campaigns.webhooks.endpoints import notify_disabled

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
