"""Tasks that send mailings: the batches (bulk queue), staff's tests, and beat's tick."""

from __future__ import annotations

import smtplib

from celery import Task, shared_task
from celery.utils.log import get_task_logger

from campaigns.extensions import db
from campaigns.mailings import batches, lifecycle
from campaigns.mailings.models import Mailing

log = get_task_logger(__name__)


@shared_task(
    name=lifecycle.SEND_BATCH_TASK,  # on the bulk queue (campaigns.core.tasks.TASK_ROUTES)
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=240,
    time_limit=270,  # shorter than MAILING_CLAIM_LEASE
)
def send_mailing_batch(mailing_id: int, **_kwargs: object) -> None:
    """Send one batch, then queue the next (one chain per parallel batch)."""
    lifecycle.heartbeat(mailing_id, 0)
    try:
        result = batches.send_batch(mailing_id, alive=lambda: lifecycle.heartbeat(mailing_id, 0))
    except batches.RetryLater as later:
        log.info("mailing %s: waiting %.0f s (%s)", mailing_id, later.countdown, later)
        lifecycle.heartbeat(mailing_id, later.countdown)
        send_mailing_batch.apply_async((mailing_id,), countdown=later.countdown)
        return
    except Exception:
        # Keep this chain of batches alive (beat only restarts a mailing with none left), a
        # little later, and let the error be reported.
        send_mailing_batch.apply_async((mailing_id,), countdown=30)
        raise
    if result.more:
        send_mailing_batch.delay(mailing_id)


@shared_task(
    name=batches.SEND_TEST_TASK,  # on the transactional queue: someone is waiting for these
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def send_test_mailing(
    self: Task, mailing_id: int, locale: str, addresses: list[str], **_kwargs: object
) -> None:
    """A test of one language version to staff addresses (a retry may repeat it: it is a test)."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        return
    try:
        batches.send_test(mailing, locale, addresses)
    except (smtplib.SMTPException, OSError) as exc:
        raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 300)) from exc


@shared_task(name="mailings.tick", acks_late=True, reject_on_worker_lost=True)
def tick(**_kwargs: object) -> None:
    """Beat, every few seconds: start due mailings, hand back dead workers' claims, and restart
    the batches of any sending mailing that has none in flight (after a crash or a deploy)."""
    for mailing_id in lifecycle.due_mailings():
        started = lifecycle.start(mailing_id)
        db.session.commit()
        if started:
            log.info("mailing %s: starting", mailing_id)
            lifecycle.start_batches(mailing_id)
    released = lifecycle.release_stale_claims()
    db.session.commit()
    if released:
        log.warning("%s deliveries claimed by a lost worker were queued again", released)
    for mailing_id in lifecycle.sending_mailings():
        if not lifecycle.batches_in_flight(mailing_id):
            lifecycle.start_batches(mailing_id)
