from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger
from flask import current_app

from campaigns.mailings import bounce_mailbox

log = get_task_logger(__name__)


@shared_task(
    name="mailings.read_bounce_mailbox",
    acks_late=True,
    reject_on_worker_lost=True,
    # A backstop only: every network operation has its own timeout. A run killed midway loses
    # nothing: POP3 deletes at QUIT, IMAP at EXPUNGE, and what is read again is recorded once.
    time_limit=600,
)
def read_bounce_mailbox(**_kwargs: object) -> None:
    """Beat, every BOUNCE_MAILBOX_INTERVAL seconds: read the bounce mailbox, if there is one.
    Running twice at once is harmless: each notification is recorded once."""
    if not current_app.config["BOUNCE_MAILBOX_URL"]:
        return
    try:
        result = bounce_mailbox.read_mailbox()
    except bounce_mailbox.MAILBOX_ERRORS as exc:
        # The server is down or refused us: the next run tries again.
        log.warning("bounce mailbox not read: %s: %s", type(exc).__name__, exc)
        return
    log.info(
        "bounce mailbox: %s recorded, %s seen before, %s ignored, %s kept for later",
        result.recorded,
        result.duplicate,
        result.ignored,
        result.kept,
    )
