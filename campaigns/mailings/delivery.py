"""One message of a batch: build it, mark it sent together with its final dot, and record what
the recipient's server answered.

These functions commit: a batch records each recipient's outcome as it happens, so a crash never
repeats one (see core.sent_marks and core.smtp).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, exists, update

from campaigns.core.db import utcnow
from campaigns.core.redact import redact_addresses
from campaigns.core.sent_marks import SentMarks, WriteDot
from campaigns.core.smtp import BulkConnection
from campaigns.extensions import db
from campaigns.mailings.compose import merge_values
from campaigns.mailings.message import Layout, MessageFactory, Recipient
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing, MailingStatus

# Delivery rows change by bulk UPDATEs while a batch holds them in memory; the batch reads nothing
# back from those objects, so the session need not match them to each statement (it would look
# through every loaded delivery for every message).
NO_SYNC = {"synchronize_session": False}


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0
    finished: bool = False  # the mailing is complete
    more: bool = False  # queued deliveries remain


def set_status(delivery_ids: list[int], status: DeliveryStatus, **values: object) -> None:
    if delivery_ids:
        db.session.execute(
            update(Delivery).where(Delivery.id.in_(delivery_ids)).values(status=status, **values),
            execution_options=NO_SYNC,
        )
        db.session.commit()  # each recipient's outcome is recorded as it happens


# The sent mark: only if the delivery is still ours (an unsubscribe since the claim has withdrawn
# it) and the mailing still sending (a pause or a cancel stops it within one message). Built once:
# it runs for every message.
MARK_SENT = (
    update(Delivery)
    .where(
        Delivery.id == bindparam("b_delivery"),
        Delivery.status == DeliveryStatus.SENDING,
        exists().where(
            Mailing.id == bindparam("b_mailing"), Mailing.status == MailingStatus.SENDING
        ),
    )
    .values(
        status=DeliveryStatus.SENT,
        sent_at=bindparam("b_sent_at"),
        message_id=bindparam("b_message_id"),
        error=None,
    )
)


def sent_marks() -> SentMarks:
    """The marks of one batch, committed with each message's final dot (core.sent_marks)."""
    return SentMarks(MARK_SENT)


@dataclass
class MessageSender:
    """Sends the messages of one batch over one connection, and counts what became of them."""

    mailing: Mailing
    layouts: dict[str, Layout]
    connection: BulkConnection
    marks: SentMarks
    result: BatchResult
    factory: MessageFactory = field(init=False)

    def __post_init__(self) -> None:
        self.factory = MessageFactory(self.mailing.id)

    def send(self, delivery: Delivery) -> bool:
        """Send one delivery; False when its sent mark was refused (unsubscribed, paused,
        cancelled)."""
        mailing, result = self.mailing, self.result
        layout = self.layouts.get(delivery.locale) or self.layouts[mailing.default_locale]
        values = merge_values(
            mailing, layout.version.locale, delivery.first_name, delivery.source_code
        )
        try:
            sender, data, message_id = self.factory.build(
                layout, Recipient(delivery.id, delivery.email, values)
            )
        except UnicodeEncodeError:
            # An address with non-ASCII characters needs SMTPUTF8, which we do not speak yet:
            # this one recipient fails, the mailing goes on.
            set_status([delivery.id], DeliveryStatus.FAILED, error="address needs SMTPUTF8")
            result.failed += 1
            return True
        committed = False

        def hand_over(write_dot: WriteDot) -> bool:
            nonlocal committed
            params = {
                "b_delivery": delivery.id,
                "b_mailing": mailing.id,
                "b_sent_at": utcnow(),
                "b_message_id": message_id,
            }
            committed = self.marks.mark(params, write_dot)
            return committed

        try:
            if not self.connection.send(sender, delivery.email, data, hand_over):
                # Withdrawn while it was on its way: unsubscribed, or the mailing paused or
                # cancelled (the caller tells which).
                return False
            result.sent += 1
        except smtplib.SMTPResponseException as exc:
            self._refused(delivery, exc)
            if exc.smtp_code == 421:
                raise  # the batch stops here
        except (smtplib.SMTPException, OSError):
            if committed:
                # The connection broke after the message was handed over: the server may have
                # it. At most once: it stays counted as sent.
                result.sent += 1
            raise
        return True

    def _refused(self, delivery: Delivery, exc: smtplib.SMTPResponseException) -> None:
        """The server answered no (to the address, or to the whole message after the dot)."""
        code = exc.smtp_code
        error = redact_addresses(f"{code} {_text(exc.smtp_error)}")
        permanent = 500 <= code < 600
        if permanent or delivery.attempts >= current_app.config["MAILING_MAX_ATTEMPTS"]:
            set_status([delivery.id], DeliveryStatus.FAILED, error=error)
            self.result.failed += 1
            return
        # 421: the server is closing the connection; the batch waits as a whole (the caller).
        # Other 4xx (greylisting, a full mailbox): this recipient waits, longer each time.
        retry_at = None if code == 421 else utcnow() + _recipient_backoff(delivery.attempts)
        set_status(
            [delivery.id],
            DeliveryStatus.QUEUED,
            claimed_at=None,
            retry_at=retry_at,
            error=error,
        )
        self.result.released += 1


def _recipient_backoff(attempts: int) -> timedelta:
    """How long a recipient refused with a 4xx waits: greylisting servers want minutes, a full
    mailbox hours. The first wait is MAILING_RETRY_DELAY, doubling up to an hour."""
    first = current_app.config["MAILING_RETRY_DELAY"]
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 3600))


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
