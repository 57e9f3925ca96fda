from __future__ import annotations

import smtplib
import time
from datetime import timedelta

import redis
from celery import Task, shared_task
from celery.utils.log import get_task_logger
from flask import current_app
from sqlalchemy.exc import OperationalError

from campaigns.core import events
from campaigns.core.mail import MailClaimedElsewhere, PermanentMailError
from campaigns.extensions import db

log = get_task_logger(__name__)

# SMTP trouble that may pass: a 4xx answer, a dropped or refused connection.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)
# A drain also waits out Redis or the database being away a moment.
DRAIN_RETRY_ERRORS = (*TRANSIENT_MAIL_ERRORS, redis.RedisError, OperationalError)


@shared_task(
    name="events.dispatch",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=12,
    # Shorter than MAIL_CLAIM_LEASE (120 s), so a send stuck on a dead SMTP connection is stopped
    # before another worker may take its claim over.
    soft_time_limit=60,
    time_limit=90,
)
def dispatch_event(self: Task, event_id: str, **_kwargs: object) -> None:
    """Run the handlers of one outbox event (see campaigns.core.events)."""
    try:
        events.dispatch(event_id)
        db.session.commit()
    except PermanentMailError as exc:
        # Recorded as failed on its SentMail row; retrying would not change the server's mind.
        log.warning("event %s: mail refused for good: %s", event_id, exc)
        db.session.rollback()
        events.give_up(event_id)
        db.session.commit()
    except MailClaimedElsewhere as exc:
        # Another worker holds the claim; if it died, the claim lapses after the lease.
        raise self.retry(exc=exc, countdown=current_app.config["MAIL_CLAIM_LEASE"]) from exc
    except TRANSIENT_MAIL_ERRORS as exc:
        # 5 s, 10 s, 20 s ... capped at 10 min: SMTP servers ask for patience, not hammering, and
        # a countdown stays well below the broker's visibility timeout. After the last retry the
        # event stays unprocessed and the outbox relay publishes it again.
        countdown = min(5 * 2**self.request.retries, 600)
        raise self.retry(exc=exc, countdown=countdown) from exc


# Seconds a drain task starts new batches for before it hands over to a new task, whatever the
# size of the backlog. Its last batch may run past it by up to 25 mails (25 s for a mail server
# taking a second a mail), still within the soft time limit.
DRAIN_BUDGET = 20.0


@shared_task(
    name="events.drain",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=12,
    soft_time_limit=60,  # as events.dispatch: shorter than MAIL_CLAIM_LEASE
    time_limit=90,
)
def drain_events(self: Task, event_type: str, **_kwargs: object) -> None:
    """Handle the waiting events of a type with a batch handler (see campaigns.core.events)."""
    try:
        more = events.drain(event_type, DRAIN_BUDGET)
    except DRAIN_RETRY_ERRORS as exc:
        # The batch gave its claims back and the bell is unrung: the events wait for this retry
        # (or a drain rung by a new event).
        countdown = min(5 * 2**self.request.retries, 600)
        raise self.retry(exc=exc, countdown=countdown) from exc
    if more:
        try:
            events.ring(event_type)
        except Exception as exc:  # noqa: BLE001 - the relay publishes what waits
            log.warning("drain of %s: could not hand over the rest: %s", event_type, exc)


@shared_task(name="outbox.relay", acks_late=True, reject_on_worker_lost=True)
def relay_outbox(**_kwargs: object) -> int:
    """Publish events the after-commit hook could not (beat runs this every few seconds)."""
    relayed = events.relay()
    db.session.commit()
    return relayed


@shared_task(name="outbox.prune", acks_late=True, reject_on_worker_lost=True)
def prune_outbox(**_kwargs: object) -> int:
    """Delete events processed more than OUTBOX_KEEP_DAYS ago (beat runs this hourly), a batch
    per transaction, for at most a minute."""
    keep = timedelta(days=current_app.config["OUTBOX_KEEP_DAYS"])
    deadline = time.monotonic() + 60
    deleted = 0
    while True:
        batch = events.prune(keep)
        db.session.commit()
        deleted += batch
        if batch == 0 or time.monotonic() > deadline:
            return deleted
