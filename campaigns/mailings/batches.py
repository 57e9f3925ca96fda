"""Sending a mailing: claim a batch of deliveries, send them over one connection at the allowed
rate, record each one, and go on until none is left.

The state lives in the database, so any worker can continue any mailing: a pause, a crash or a
deploy loses nothing. A batch commits as it goes (its claims before the first message, each
recipient's outcome as it happens); beat's `mailings.tick` (see lifecycle.py) starts due
mailings, hands back claims of workers that died, and keeps batches flowing.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable

from flask import current_app
from sqlalchemy import func, or_, select, update

from campaigns.core.db import utcnow
from campaigns.core.metrics import count_mails
from campaigns.core.smtp import BulkConnection, unconditionally
from campaigns.extensions import db
from campaigns.mailings import lifecycle
from campaigns.mailings.audience import extend_recipient_list
from campaigns.mailings.compose import merge_values, prepare
from campaigns.mailings.delivery import (
    NO_SYNC,
    BatchResult,
    MessageSender,
    sent_marks,
    set_status,
)
from campaigns.mailings.message import Layout, MessageFactory, Recipient, prepare_layout
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing, MailingStatus
from campaigns.mailings.rate import SendingRate
from campaigns.mailings.suppression import suppressed_among

# How late (seconds) a message may still start after its reserved start time, if that is more
# than the spacing of the rate. With every message starting within max(spacing, RATE_SLACK) of
# its time, a second holds at most one message more than the rate up to 100 per second, and at
# most 1 % more above (where one connection is slower than the rate anyway). Later than that,
# the times are given up: see send_batch.
RATE_SLACK = 0.01


class RetryLater(Exception):
    """Stop this batch and run the next one after `countdown` seconds (SMTP 4xx, hourly limit)."""

    def __init__(self, countdown: float, reason: str) -> None:
        super().__init__(reason)
        self.countdown = countdown


def _claim(mailing_id: int, size: int) -> list[Delivery]:
    """Claim up to `size` queued deliveries. On PostgreSQL the rows picked are locked, so other
    workers skip them; everywhere, only the rows this UPDATE changed are returned as ours, so two
    workers picking the same rows (SQLite) never both send them.

    (One UPDATE with a LIMIT-ed subquery would be shorter, but PostgreSQL may run that subquery
    more than once and claim more than `size` rows.)"""
    now = utcnow()
    due = or_(Delivery.retry_at.is_(None), Delivery.retry_at <= now)
    picked = db.session.scalars(
        select(Delivery.id)
        .where(Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.QUEUED, due)
        .order_by(Delivery.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    ).all()
    if not picked:
        db.session.commit()  # ends the transaction of the SELECT ... FOR UPDATE
        return []
    ids = db.session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(picked), Delivery.status == DeliveryStatus.QUEUED)
        .values(
            status=DeliveryStatus.SENDING,
            claimed_at=now,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id),
        execution_options=NO_SYNC,
    ).all()
    db.session.commit()  # the claims must be visible to other workers before sending
    if not ids:
        return []
    # populate_existing: rows this session loaded before (attempts, retry_at) are read afresh.
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.id.in_(ids))
            .order_by(Delivery.id)
            .execution_options(populate_existing=True)
        )
    )


def _release(deliveries: list[Delivery]) -> int:
    ids = [d.id for d in deliveries]
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.QUEUED, claimed_at=None),
        execution_options=NO_SYNC,
    )
    db.session.commit()  # handed back at once: another worker may take them now
    return len(ids)


def _layouts(mailing: Mailing) -> dict[str, Layout]:
    """Each language's text, prepared once per process and mailing."""
    cache = current_app.extensions.setdefault("mailing_layouts", {})
    key = (mailing.id, tuple((v.locale, v.subject, v.body_markdown) for v in mailing.versions))
    if key not in cache:
        cache.clear()
        cache[key] = {
            v.locale: prepare_layout(prepare(v.locale, v.subject, v.body_markdown))
            for v in mailing.versions
        }
    return cache[key]


def _still_sending(mailing_id: int) -> bool:
    db.session.commit()  # ends the transaction: the next read sees a pause or a cancel
    return db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id)) == (
        MailingStatus.SENDING
    )


def send_batch(mailing_id: int, alive: Callable[[], None] = lambda: None) -> BatchResult:
    """Send the next batch of a mailing. Raises RetryLater when the server or the hourly limit
    asks for patience (the claims are handed back first). `alive()` is called as the batch goes
    on, to tell beat that this mailing's batches are still running."""
    result = BatchResult()
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None or mailing.status != MailingStatus.SENDING:
        return result
    if not mailing.audience_complete:
        extend_recipient_list(mailing, current_app.config["MAILING_AUDIENCE_CHUNK"])
    batch = _claim(mailing_id, current_app.config["MAILING_BATCH_SIZE"])
    if not batch:
        result.finished = _finish_if_done(mailing)
        result.more = not result.finished and not mailing.audience_complete
        if not result.finished and not result.more:
            retry_in = _next_retry_in(mailing_id)
            if retry_in is not None:
                raise RetryLater(retry_in, "recipients' servers asked to try again later")
        return result

    suppressed = suppressed_among(d.email for d in batch)
    skipped = [d for d in batch if d.email in suppressed]
    set_status([d.id for d in skipped], DeliveryStatus.SKIPPED, error="suppressed")
    result.skipped = len(skipped)
    todo = [d for d in batch if d.email not in suppressed]

    rate = SendingRate()
    # Start times are reserved about a second's worth at a time, fewer after running late.
    most = max(1, int(rate.per_second)) if rate.per_second > 0 else len(todo)
    chunk = most
    next_check = 0.0
    connection = None
    marks = sent_marks()
    try:
        connection = BulkConnection()
        sender = MessageSender(mailing, _layouts(mailing), connection, marks, result)
        while todo:
            if time.monotonic() >= next_check:
                # Once a second: tell beat this batch is alive, and stop if paused or cancelled.
                alive()
                if not _still_sending(mailing_id):
                    result.released += _release(todo)
                    return result
                next_check = time.monotonic() + 1.0
            reserved = rate.reserve(min(chunk, len(todo)))
            if reserved.count == 0:
                result.released += _release(todo)
                raise RetryLater(reserved.wait, "hourly sending limit reached")
            start = time.monotonic() + reserved.wait
            spacing = reserved.spacing
            done = started = 0
            try:
                for n, delivery in enumerate(todo[: reserved.count]):
                    delay = start + n * spacing - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    elif n and spacing and -delay > max(spacing, RATE_SLACK):
                        # A slow reply made us miss this start time: sending the messages whose
                        # times have passed back to back would beat the rate. Their times are
                        # given up (other workers may hold the ones after them) and new ones
                        # reserved.
                        break
                    started = n + 1  # counted even if the connection fails during it
                    handed_over = sender.send(delivery)
                    done = n + 1
                    if not handed_over:
                        if not _still_sending(mailing_id):
                            # Paused or cancelled mid-batch: stop now and hand the rest back.
                            result.released += _release(todo[n:])
                            return result
                        result.skipped += 1  # unsubscribed while it was on its way
            finally:
                # Times no message started in do not count towards the hour.
                rate.give_back(reserved, reserved.count - started)
            chunk = min(chunk * 2, most) if done == reserved.count else max(1, done)
            todo = todo[done:]
    except RetryLater:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        # The connection failed as a whole (refused, dropped, 421): everyone not done goes back.
        result.released += _release_unfinished(batch)
        raise RetryLater(_backoff(batch), f"SMTP connection trouble: {exc}") from exc
    except Exception:
        # Anything else: hand the batch back at once rather than after the lease, then let the
        # task report it.
        db.session.rollback()
        _release_unfinished(batch)
        raise
    finally:
        marks.close()
        if connection is not None:
            connection.close()
        count_mails("mailing", result.sent, result.failed)
    result.more = True
    return result


def _release_unfinished(batch: list[Delivery]) -> int:
    left = db.session.scalars(
        select(Delivery).where(
            Delivery.id.in_([d.id for d in batch]), Delivery.status == DeliveryStatus.SENDING
        )
    ).all()
    return _release(list(left))


def _backoff(batch: list[Delivery]) -> float:
    attempts = max(d.attempts for d in batch)
    return min(5 * 2 ** (attempts - 1), 600)


def _next_retry_in(mailing_id: int) -> float | None:
    """Seconds until the first recipient put off by a 4xx may be tried again, or None."""
    first = db.session.scalar(
        select(func.min(Delivery.retry_at)).where(
            Delivery.mailing_id == mailing_id,
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.retry_at.is_not(None),
        )
    )
    if first is None:
        return None
    return max((first - utcnow()).total_seconds(), 1.0)


def _finish_if_done(mailing: Mailing) -> bool:
    if not mailing.audience_complete:
        return False
    unfinished = db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.mailing_id == mailing.id,
            Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
        )
    )
    if unfinished:
        return False
    finished = lifecycle.finish(mailing)
    db.session.commit()  # ends the batch's last transaction
    return finished


SEND_TEST_TASK = "mailings.send_test"


def send_test(mailing: Mailing, locale: str, addresses: list[str]) -> int:
    """Send the `locale` version to staff addresses, marked as a test, outside the mailing's
    deliveries (its links work like a real recipient's would not: there is no delivery)."""
    version = next(v for v in mailing.versions if v.locale == locale)
    layout = prepare_layout(prepare(locale, "[TEST] " + version.subject, version.body_markdown))
    factory = MessageFactory(mailing.id)
    connection = BulkConnection()
    try:
        for address in addresses:
            values = merge_values(mailing, locale, first_name="")
            sender, data, _message_id = factory.build(layout, Recipient(0, address, values))
            connection.send(sender, address, data, unconditionally)
    finally:
        connection.close()
    return len(addresses)
