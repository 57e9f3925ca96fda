"""Sending a mailing: claim a batch of deliveries, send them over one connection at the allowed
rate, record each one, and go on until none is left.

The state lives in the database, so any worker can continue any mailing: a pause, a crash or a
deploy loses nothing. Beat's `tick()` starts due mailings with a conditional update (two beats
never start one twice), hands back claims of workers that died, and keeps batches flowing.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, exists, func, or_, select, update

from campaigns.core.db import utcnow
from campaigns.core.redact import redact_addresses
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.mailings.audience import extend_recipient_list
from campaigns.mailings.compose import prepare
from campaigns.mailings.message import Layout, MessageFactory, Recipient, prepare_layout
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing, MailingStatus
from campaigns.mailings.rate import SendingRate
from campaigns.mailings.smtp import BulkConnection
from campaigns.mailings.suppression import suppressed_among

log = logging.getLogger(__name__)

# Delivery rows change by bulk UPDATEs while a batch holds them in memory; the batch reads nothing
# back from those objects, so the session need not match them to each statement (it would look
# through every loaded delivery for every message).
NO_SYNC = {"synchronize_session": False}


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


# --- Staff actions ---------------------------------------------------------------------------


def _change_status(
    mailing: Mailing, allowed_from: tuple[MailingStatus, ...], to: MailingStatus, **values: object
) -> bool:
    """A conditional update: only one of two racing actions (or beats) wins."""
    result = db.session.execute(
        update(Mailing)
        .where(Mailing.id == mailing.id, Mailing.status.in_(allowed_from))
        .values(status=to, **values)
    )
    db.session.commit()
    db.session.refresh(mailing)
    return result.rowcount == 1


def schedule(mailing: Mailing, when=None) -> bool:  # noqa: ANN001 - an aware datetime or None (now)
    return _change_status(
        mailing, (MailingStatus.DRAFT,), MailingStatus.SCHEDULED, scheduled_at=when or utcnow()
    )


def unschedule(mailing: Mailing) -> bool:
    return _change_status(mailing, (MailingStatus.SCHEDULED,), MailingStatus.DRAFT)


def pause(mailing: Mailing) -> bool:
    return _change_status(mailing, (MailingStatus.SENDING,), MailingStatus.PAUSED)


def resume(mailing: Mailing) -> bool:
    return _change_status(mailing, (MailingStatus.PAUSED,), MailingStatus.SENDING)


def cancel(mailing: Mailing) -> bool:
    return _change_status(
        mailing,
        (MailingStatus.SCHEDULED, MailingStatus.SENDING, MailingStatus.PAUSED),
        MailingStatus.CANCELLED,
        finished_at=utcnow(),
    )


# --- Beat ----------------------------------------------------------------------------------------


def start_due_mailings() -> list[int]:
    """Claim every scheduled mailing whose time has come; returns their ids."""
    now = utcnow()
    due = db.session.scalars(
        select(Mailing.id).where(
            Mailing.status == MailingStatus.SCHEDULED, Mailing.scheduled_at <= now
        )
    ).all()
    started = []
    for mailing_id in due:
        result = db.session.execute(
            update(Mailing)
            .where(Mailing.id == mailing_id, Mailing.status == MailingStatus.SCHEDULED)
            .values(status=MailingStatus.SENDING, started_at=now)
        )
        db.session.commit()
        if result.rowcount == 1:
            started.append(mailing_id)
    return started


def release_stale_claims() -> int:
    """Deliveries claimed by a worker that died before committing them as sent: the server never
    got their final dot (see mailings.smtp), so they go back in the queue."""
    lease = timedelta(seconds=current_app.config["MAILING_CLAIM_LEASE"])
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < utcnow() - lease)
        .values(status=DeliveryStatus.QUEUED, claimed_at=None)
    )
    db.session.commit()
    return result.rowcount


def sending_mailings() -> list[int]:
    return list(
        db.session.scalars(select(Mailing.id).where(Mailing.status == MailingStatus.SENDING))
    )


# --- A batch -----------------------------------------------------------------------------------


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0
    finished: bool = False  # the mailing is complete
    more: bool = False  # queued deliveries remain
    notes: list[str] = field(default_factory=list)


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
        db.session.commit()
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
    db.session.commit()
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


def _set_status(delivery_ids: list[int], status: DeliveryStatus, **values: object) -> None:
    if delivery_ids:
        db.session.execute(
            update(Delivery).where(Delivery.id.in_(delivery_ids)).values(status=status, **values),
            execution_options=NO_SYNC,
        )
        db.session.commit()


def _release(deliveries: list[Delivery]) -> int:
    ids = [d.id for d in deliveries]
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.QUEUED, claimed_at=None),
        execution_options=NO_SYNC,
    )
    db.session.commit()
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


def merge_values(
    mailing: Mailing, locale: str, first_name: str, source_code: str | None = None
) -> dict[str, str]:
    """The merge fields' values for one recipient. The action link is the campaign in their
    language, attributed to the network that brought them; it carries no personal token, so a
    forwarded mail reveals nothing and nobody is tracked."""
    values = {"first_name": first_name}
    campaign = mailing.action_campaign
    if campaign is not None:
        translation = campaign.translation_for(locale)
        values["campaign_title"] = translation.title if translation else ""
        query = {"source": source_code} if source_code else {}
        values["action_link"] = public_url(
            "petitions.petition", lang=locale, slug=campaign.slug, **query
        )
    return values


def _still_sending(mailing_id: int) -> bool:
    db.session.commit()  # a fresh snapshot
    return db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id)) == (
        MailingStatus.SENDING
    )


class SentMarks:
    """Marks deliveries sent, one statement each on a connection of its own in autocommit mode:
    the mark is committed, in one round trip, before the final dot of the message goes out."""

    # Built once: the statement runs for every message.
    _MARK = (
        update(Delivery)
        # Only if still ours (an unsubscribe since the claim has withdrawn it) and the mailing
        # still sending (a pause or a cancel stops it within one message).
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

    def __init__(self) -> None:
        self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if db.engine.dialect.name == "postgresql":
            # A worker crash, what the mark guards against, never loses a committed transaction;
            # only a crash of PostgreSQL itself could lose the last marks before they reach the
            # disk. Waiting for that flush on every message would make bulk sending much slower.
            self.connection.exec_driver_sql("SET synchronous_commit = off")

    def mark(self, mailing_id: int, delivery_id: int, message_id: str) -> bool:
        marked = self.connection.execute(
            self._MARK,
            {
                "b_delivery": delivery_id,
                "b_mailing": mailing_id,
                "b_sent_at": utcnow(),
                "b_message_id": message_id,
            },
        )
        return marked.rowcount == 1

    def close(self) -> None:
        if db.engine.dialect.name == "postgresql":
            self.connection.exec_driver_sql("RESET synchronous_commit")
        self.connection.close()


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
    _set_status([d.id for d in skipped], DeliveryStatus.SKIPPED, error="suppressed")
    result.skipped = len(skipped)
    todo = [d for d in batch if d.email not in suppressed]

    layouts = _layouts(mailing)
    factory = MessageFactory(mailing.id)
    rate = SendingRate()
    # Start times are reserved about a second's worth at a time, fewer after running late.
    most = max(1, int(rate.per_second)) if rate.per_second > 0 else len(todo)
    chunk = most
    next_check = 0.0
    connection = None
    marks = SentMarks()
    try:
        connection = BulkConnection()
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
                    handed_over = _send_one(
                        connection, marks, factory, mailing, layouts, delivery, result
                    )
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


def _recipient_backoff(attempts: int) -> timedelta:
    """How long a recipient refused with a 4xx waits: greylisting servers want minutes, a full
    mailbox hours. The first wait is MAILING_RETRY_DELAY, doubling up to an hour."""
    first = current_app.config["MAILING_RETRY_DELAY"]
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 3600))


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


def _send_one(connection, marks, factory, mailing, layouts, delivery, result) -> bool:  # noqa: ANN001
    """Send one delivery; False when its sent mark was refused (unsubscribed, paused, cancelled)."""
    layout = layouts.get(delivery.locale) or layouts[mailing.default_locale]
    values = merge_values(mailing, layout.version.locale, delivery.first_name, delivery.source_code)
    try:
        sender, data, message_id = factory.build(
            layout, Recipient(delivery.id, delivery.email, values)
        )
    except UnicodeEncodeError:
        # An address with non-ASCII characters needs SMTPUTF8, which we do not speak yet: this
        # one recipient fails, the mailing goes on.
        _set_status([delivery.id], DeliveryStatus.FAILED, error="address needs SMTPUTF8")
        result.failed += 1
        return True
    committed = False

    def commit() -> bool:
        nonlocal committed
        committed = marks.mark(mailing.id, delivery.id, message_id)
        return committed

    try:
        if not connection.send(sender, delivery.email, data, before_commit=commit):
            # Withdrawn while it was on its way: unsubscribed, or the mailing paused or
            # cancelled (the caller tells which).
            return False
        result.sent += 1
    except smtplib.SMTPResponseException as exc:
        # The server answered no (to the address, or to the whole message after the dot).
        code = exc.smtp_code
        error = redact_addresses(f"{code} {_text(exc.smtp_error)}")
        permanent = 500 <= code < 600
        if permanent or delivery.attempts >= current_app.config["MAILING_MAX_ATTEMPTS"]:
            _set_status([delivery.id], DeliveryStatus.FAILED, error=error)
            result.failed += 1
        else:
            # 421: the server is closing the connection; the batch waits as a whole (below).
            # Other 4xx (greylisting, a full mailbox): this recipient waits, longer each time.
            retry_at = None if code == 421 else utcnow() + _recipient_backoff(delivery.attempts)
            _set_status(
                [delivery.id],
                DeliveryStatus.QUEUED,
                claimed_at=None,
                retry_at=retry_at,
                error=error,
            )
            result.released += 1
        if code == 421:
            raise  # the batch stops here
    except (smtplib.SMTPException, OSError):
        if committed:
            # The connection broke after the message was handed over: the server may have it.
            # At most once: it stays counted as sent.
            result.sent += 1
        raise
    return True


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


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
    return _change_status(
        mailing, (MailingStatus.SENDING,), MailingStatus.SENT, finished_at=utcnow()
    )


# --- Progress ------------------------------------------------------------------------------------


@dataclass
class Progress:
    total: int
    by_status: dict[str, int]
    rate_per_minute: float
    finished_in_seconds: float | None

    @property
    def done(self) -> int:
        return sum(self.by_status.get(s, 0) for s in ("sent", "failed", "skipped", "bounced"))

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def progress(mailing: Mailing) -> Progress:
    rows = db.session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.mailing_id == mailing.id)
        .group_by(Delivery.status)
    ).all()
    by_status = {str(status): count for status, count in rows}
    total = sum(by_status.values())
    window = utcnow() - timedelta(minutes=1)
    last_minute = db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.mailing_id == mailing.id,
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= window,
        )
    )
    remaining = by_status.get("queued", 0) + by_status.get("sending", 0)
    eta = remaining / (last_minute / 60) if last_minute and remaining else None
    return Progress(total, by_status, float(last_minute), eta)


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
            connection.send(sender, address, data, before_commit=lambda: True)
    finally:
        connection.close()
    return len(addresses)
