"""Sending a round of claimed letters: each built before the first goes, sent over one SMTP
connection, and marked sent in a commit just before the server gets its final dot (see
core.smtp), so a worker killed mid-round never sends a letter twice."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from campaigns.campaign.models import Campaign
from campaigns.core.db import utcnow
from campaigns.core.metrics import count_mails
from campaigns.core.mime import sender_address
from campaigns.core.redact import redact_addresses
from campaigns.core.sent_marks import SentMarks, WriteDot
from campaigns.core.smtp import BulkConnection, HandOver, RecipientRefused
from campaigns.extensions import db
from campaigns.lobbying.message import letter_email
from campaigns.lobbying.models import (
    Letter,
    LetterAction,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
    Target,
)

log = logging.getLogger(__name__)

NO_SYNC = {"synchronize_session": False}
MAX_ATTEMPTS = 8


def _deliveries(ids: list[int]) -> list[LetterDelivery]:
    return list(
        db.session.scalars(
            select(LetterDelivery)
            .where(LetterDelivery.id.in_(ids))
            .order_by(LetterDelivery.id)
            .options(
                joinedload(LetterDelivery.target),
                joinedload(LetterDelivery.letter)
                .joinedload(Letter.action)
                .joinedload(LetterAction.campaign)
                .selectinload(Campaign.translations),
            )
        )
    )


def _set(delivery_ids: list[int], status: LetterDeliveryStatus, **values: object) -> None:
    if not delivery_ids:
        return
    db.session.execute(
        update(LetterDelivery)
        .where(LetterDelivery.id.in_(delivery_ids))
        .values(status=status, **values),
        execution_options=NO_SYNC,
    )
    db.session.commit()  # the outcome, as soon as it is known


# The sent mark of a letter: only if still ours and the letter not withdrawn. Committed with the
# final dot (core.sent_marks); built once, it runs for every letter.
MARK_SENT = (
    update(LetterDelivery)
    .where(
        LetterDelivery.id == bindparam("b_delivery"),
        LetterDelivery.status == LetterDeliveryStatus.SENDING,
        LetterDelivery.letter_id.in_(
            select(Letter.id).where(Letter.status == LetterStatus.CONFIRMED)
        ),
    )
    .values(
        status=LetterDeliveryStatus.SENT,
        sent_at=bindparam("b_sent_at"),
        test_mode=bindparam("b_test_mode"),
    )
)


def _hand_over(marks: SentMarks, letter: _Outgoing) -> HandOver:
    def hand_over(write_dot: WriteDot) -> bool:
        params = {
            "b_delivery": letter.delivery_id,
            "b_sent_at": utcnow(),
            "b_test_mode": letter.test_mode,
        }
        return marks.mark(params, write_dot)

    return hand_over


@dataclass(frozen=True)
class _Outgoing:
    """A letter ready to go: its bytes and what recording its outcome needs."""

    delivery_id: int
    target_id: int
    attempts: int
    sender: str
    recipient: str
    data: bytes
    test_mode: bool


def _prepare(ids: list[int]) -> list[_Outgoing]:
    """The claimed letters as messages, built before the first one goes (so no ORM object is
    read while the round commits its outcomes); withdrawn ones are cancelled."""
    outgoing, cancelled, unsendable = [], [], []
    for delivery in _deliveries(ids):
        if delivery.status != LetterDeliveryStatus.SENDING:
            continue
        if delivery.letter.status != LetterStatus.CONFIRMED:  # withdrawn since it was claimed
            cancelled.append(delivery.id)
            continue
        try:
            email, test_mode = letter_email(delivery)
            data, needs_smtputf8 = email.encoded()
        except (UnicodeError, ValueError):  # one odd letter fails alone, the round goes on
            log.exception("letter delivery %s could not be built", delivery.id)
            needs_smtputf8 = True
        if needs_smtputf8:
            unsendable.append(delivery.id)
            continue
        outgoing.append(
            _Outgoing(
                delivery.id,
                delivery.target_id,
                delivery.attempts,
                sender_address(email.sender),
                email.envelope_to,
                data,
                test_mode,
            )
        )
    _set(cancelled, LetterDeliveryStatus.CANCELLED)
    _set(unsendable, LetterDeliveryStatus.FAILED, error="address not ASCII, or letter not built")
    db.session.commit()  # nothing held open while the letters go out
    return outgoing


def send_claimed(ids: list[int]) -> tuple[int, int]:
    """Send the claimed deliveries over one SMTP connection; returns (sent, failed). Each letter
    is marked sent just before the server takes it (at most once, in practice exactly once: a
    worker that dies before that commit leaves the server a partial message, which it drops, and
    the letter goes again after LOBBYING_CLAIM_LEASE)."""
    outgoing = _prepare(ids)
    if not outgoing:
        return 0, 0
    sent = failed = 0
    connection = None
    marks = SentMarks(MARK_SENT)
    try:
        connection = BulkConnection()
        for done, letter in enumerate(outgoing):
            try:
                if connection.send(
                    letter.sender,
                    letter.recipient,
                    letter.data,
                    _hand_over(marks, letter),
                ):
                    sent += 1
            except smtplib.SMTPResponseException as exc:
                failed += 1
                _refused_or_later(letter, exc)
                if exc.smtp_code == 421:  # the server is closing: the rest waits for a tick
                    _release([x.delivery_id for x in outgoing[done + 1 :]])
                    break
    except (smtplib.SMTPException, OSError):
        # The connection broke (or never opened): what was not marked sent goes back to wait.
        log.warning("letters: the mail server could not be reached; trying again later")
        db.session.rollback()
        _release([x.delivery_id for x in outgoing])
    finally:
        marks.close()
        if connection is not None:
            connection.close()
    count_mails("letter", sent, failed)
    return sent, failed


def _release(delivery_ids: list[int]) -> None:
    """Back to the schedule: letters claimed by this round but not handed over."""
    if delivery_ids:
        db.session.execute(
            update(LetterDelivery)
            .where(
                LetterDelivery.id.in_(delivery_ids),
                LetterDelivery.status == LetterDeliveryStatus.SENDING,
            )
            .values(status=LetterDeliveryStatus.SCHEDULED),
            execution_options=NO_SYNC,
        )
        db.session.commit()  # handed back at once


def _refused_or_later(letter: _Outgoing, exc: smtplib.SMTPResponseException) -> None:
    """The server said no: for good (5xx) to the address, or for now (4xx)."""
    reason = redact_addresses(f"{exc.smtp_code} {_text(exc.smtp_error)}")[:300]
    if not 500 <= exc.smtp_code < 600:
        _retry_later(letter, reason)
        return
    if not isinstance(exc, RecipientRefused):
        # The message or our sender refused, not the target's address: this letter fails alone.
        _set([letter.delivery_id], LetterDeliveryStatus.FAILED, error=reason)
        return
    if not letter.test_mode:  # in test mode it is the test inbox's problem, not the target's
        target = db.session.get(Target, letter.target_id)
        target.bounced_at, target.bounce_reason = utcnow(), reason
        log.warning("letters to target %s bounced: skipped until staff fix it", letter.target_id)
        skip_waiting_for(letter.target_id, "bounced")
    _set([letter.delivery_id], LetterDeliveryStatus.BOUNCED, error=reason)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _retry_later(letter: _Outgoing, reason: str) -> None:
    """A 4xx (greylisting, a full mailbox): again later, waiting longer each time, up to
    MAX_ATTEMPTS tries."""
    if letter.attempts >= MAX_ATTEMPTS:
        _set([letter.delivery_id], LetterDeliveryStatus.FAILED, error=reason)
        return
    delay = timedelta(seconds=min(60 * 2**letter.attempts, 3600))
    _set(
        [letter.delivery_id],
        LetterDeliveryStatus.SCHEDULED,
        due_at=utcnow() + delay,
        error=reason,
    )


def skip_waiting_for(target_id: int, reason: str) -> int:
    """Letters still waiting for a target that bounced or left office: skipped, not sent."""
    skipped = db.session.execute(
        update(LetterDelivery)
        .where(
            LetterDelivery.target_id == target_id,
            LetterDelivery.status.in_(
                (LetterDeliveryStatus.SCHEDULED, LetterDeliveryStatus.IN_DIGEST)
            ),
        )
        .values(status=LetterDeliveryStatus.SKIPPED, error=reason),
        execution_options=NO_SYNC,
    )
    return skipped.rowcount
