"""Tasks that send alerts to member networks by email, and make the weekly digest. (Alerts are
made by event handlers, campaigns.alerts.handlers; webhooks are sent by workers.webhooks.)"""

from __future__ import annotations

import smtplib

from celery import Task, shared_task
from celery.utils.log import get_task_logger

from campaigns.alerts import digest, emails
from campaigns.alerts.fan_out import SEND_EMAILS_TASK, publish_send_emails
from campaigns.extensions import db

log = get_task_logger(__name__)

# Seconds a task starts new mails for; the rest goes to a new task (or beat's next run).
SEND_BUDGET = 40.0
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)


@shared_task(
    name=SEND_EMAILS_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=12,
    # Shorter than MAIL_CLAIM_LEASE (120 s): a send stuck on a dead SMTP connection is stopped
    # before another worker may take its claim over.
    soft_time_limit=60,
    time_limit=90,
)
def send_alert_emails(self: Task, alert_ids: list[int], **_kwargs: object) -> int:
    """Send the pending emails of these alerts (published once the alerts are committed)."""
    try:
        outcome = emails.send_pending(alert_ids, budget=SEND_BUDGET)
    except TRANSIENT_MAIL_ERRORS as exc:
        # The mail server is away or busy: 5 s, 10 s, 20 s ... up to 10 min; after the last
        # retry beat's alerts.send_pending still finds the emails pending.
        db.session.rollback()
        countdown = min(5 * 2**self.request.retries, 600)
        raise self.retry(exc=exc, countdown=countdown) from exc
    if outcome.more:
        publish_send_emails(alert_ids)  # the rest, in a task of its own
    return outcome.sent


@shared_task(
    name="alerts.send_pending",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,  # as above: shorter than MAIL_CLAIM_LEASE
)
def send_pending_alert_emails(**_kwargs: object) -> int:
    """Beat's safety net: send the alert emails still pending (their task was lost, or its
    worker was killed mid-send and the claim has lapsed)."""
    try:
        outcome = emails.send_pending(budget=SEND_BUDGET)
    except TRANSIENT_MAIL_ERRORS as exc:
        db.session.rollback()
        log.warning("alert emails: the mail server failed (%s); next run tries again", exc)
        return 0
    if outcome.sent or outcome.failed:
        log.info("alert emails: %s sent, %s refused", outcome.sent, outcome.failed)
    return outcome.sent


@shared_task(name="alerts.weekly_digest", acks_late=True, reject_on_worker_lost=True)
def weekly_digest(**_kwargs: object) -> int:
    """Make the weekly digests that are due (beat runs this hourly; each goes once a week)."""
    made = digest.send_weekly_digests()
    db.session.commit()
    return len(made)
