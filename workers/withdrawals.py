"""The daily email of withdrawals to member networks (campaigns.alerts.withdrawal_mail). The
webhook that tells a network at once is queued by an event handler
(campaigns.alerts.withdrawals) and sent by workers.webhooks."""

from __future__ import annotations

import smtplib

from celery import shared_task
from celery.utils.log import get_task_logger

from campaigns.alerts import withdrawal_mail
from campaigns.extensions import db

log = get_task_logger(__name__)

TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)


@shared_task(
    name="alerts.withdrawal_notices",
    acks_late=True,
    reject_on_worker_lost=True,
    # Shorter than MAIL_CLAIM_LEASE (120 s), as every task that sends mail.
    soft_time_limit=60,
    time_limit=90,
)
def withdrawal_notices(**_kwargs: object) -> int:
    """Beat runs this hourly: forget what webhooks delivered, make the day's notices that are
    due (once per network and day) and send every notice not sent yet."""
    withdrawal_mail.forget_told_by_webhook()
    withdrawal_mail.make_notices()
    try:
        sent = withdrawal_mail.send_notices()
    except TRANSIENT_MAIL_ERRORS as exc:
        db.session.rollback()
        log.warning("withdrawal notices: the mail server failed (%s); next run tries again", exc)
        return 0
    if sent:
        log.info("withdrawal notices: %s sent", sent)
    return sent
