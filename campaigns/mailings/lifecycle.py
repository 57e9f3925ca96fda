"""A mailing's life: staff schedule, unschedule, pause, resume or cancel it; beat starts it when
it is due and keeps its batches going.

    draft → scheduled → sending ⇄ paused → sent
            (unschedule: back to draft; cancel: from scheduled, sending or paused)

Each change is a conditional UPDATE, so of two racing actions (two staff members, two beats) only
one wins. Nothing here commits: the caller (a view with its audit entry, a task) commits, and
only then publishes the batches (`start_batches`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.core.redis import get_redis, key
from campaigns.core.tasks import send_task
from campaigns.extensions import db
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing, MailingStatus

SEND_BATCH_TASK = "mailings.send_batch"


def _change_status(
    mailing: Mailing, allowed_from: tuple[MailingStatus, ...], to: MailingStatus, **values: object
) -> bool:
    """Change the status if it is one of `allowed_from`; False if another action came first."""
    result = db.session.execute(
        update(Mailing)
        .where(Mailing.id == mailing.id, Mailing.status.in_(allowed_from))
        .values(status=to, **values)
    )
    db.session.refresh(mailing)
    return result.rowcount == 1


# --- Staff actions -----------------------------------------------------------------------------


def schedule(mailing: Mailing, when: datetime | None = None) -> bool:
    """Schedule a draft for `when` (an aware datetime), or now. Now starts it through the outbox
    as soon as the caller commits, rather than at beat's next tick (up to MAILING_TICK_INTERVAL
    later); the tick stays the safety net."""
    done = _change_status(
        mailing, (MailingStatus.DRAFT,), MailingStatus.SCHEDULED, scheduled_at=when or utcnow()
    )
    if done and when is None:
        record_event("mailing.send_now", mailing_id=mailing.id)
    return done


def unschedule(mailing: Mailing) -> bool:
    return _change_status(mailing, (MailingStatus.SCHEDULED,), MailingStatus.DRAFT)


def pause(mailing: Mailing) -> bool:
    return _change_status(mailing, (MailingStatus.SENDING,), MailingStatus.PAUSED)


def resume(mailing: Mailing) -> bool:
    """Back to sending; the caller starts the batches after its commit (`start_batches`)."""
    return _change_status(mailing, (MailingStatus.PAUSED,), MailingStatus.SENDING)


CANCELLABLE = (MailingStatus.SCHEDULED, MailingStatus.SENDING, MailingStatus.PAUSED)


def cancel(mailing: Mailing) -> bool:
    return _change_status(
        mailing,
        CANCELLABLE,
        MailingStatus.CANCELLED,
        finished_at=utcnow(),
    )


def finish(mailing: Mailing) -> bool:
    """Every recipient is done: the mailing is sent, and the member networks subscribed to
    mailings are told (event "mailing.sent", in the same transaction)."""
    finished = _change_status(
        mailing, (MailingStatus.SENDING,), MailingStatus.SENT, finished_at=utcnow()
    )
    if finished:
        record_event("mailing.sent", mailing_id=mailing.id)
    return finished


# --- Beat ----------------------------------------------------------------------------------------


def due_mailings() -> list[int]:
    """Scheduled mailings whose time has come."""
    return list(
        db.session.scalars(
            select(Mailing.id).where(
                Mailing.status == MailingStatus.SCHEDULED, Mailing.scheduled_at <= utcnow()
            )
        )
    )


def start(mailing_id: int) -> bool:
    """Claim a due mailing for sending; False if it is not due (any more), or another worker
    claimed it first."""
    result = db.session.execute(
        update(Mailing)
        .where(
            Mailing.id == mailing_id,
            Mailing.status == MailingStatus.SCHEDULED,
            Mailing.scheduled_at <= utcnow(),
        )
        .values(status=MailingStatus.SENDING, started_at=utcnow())
    )
    return result.rowcount == 1


def release_stale_claims() -> int:
    """Deliveries claimed by a worker that died before committing them as sent: the server never
    got their final dot (see core.smtp), so they go back in the queue."""
    lease = timedelta(seconds=current_app.config["MAILING_CLAIM_LEASE"])
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < utcnow() - lease)
        .values(status=DeliveryStatus.QUEUED, claimed_at=None)
    )
    return result.rowcount


def sending_mailings() -> list[int]:
    return list(
        db.session.scalars(select(Mailing.id).where(Mailing.status == MailingStatus.SENDING))
    )


# --- Batches in flight ---------------------------------------------------------------------------


def heartbeat(mailing_id: int, seconds: float) -> None:
    """Batches of this mailing are in flight (or waiting `seconds` for their countdown). Beat
    restarts the batches when this lapses: a few ticks without a batch starting."""
    margin = 3 * current_app.config["MAILING_TICK_INTERVAL"]
    get_redis().set(key("mailing-batches", mailing_id), 1, ex=int(seconds) + margin)


def batches_in_flight(mailing_id: int) -> bool:
    return bool(get_redis().exists(key("mailing-batches", mailing_id)))


def start_batches(mailing_id: int) -> None:
    """Publish MAILING_PARALLEL_BATCHES chains of batches (call it after the commit that made
    the mailing `sending`). Lost on the way, they are started again by beat (`mailings.tick`)."""
    heartbeat(mailing_id, 0)
    for _ in range(current_app.config["MAILING_PARALLEL_BATCHES"]):
        send_task(SEND_BATCH_TASK, mailing_id)
