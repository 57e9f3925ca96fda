"""The transactional outbox.

A side effect that leaves the process (a mail, a webhook, a counter update) starts as an `Event` row
written in the same transaction as the data that caused it. Nothing is published before that
transaction commits:

1. `record_event()` inserts the row in the session's transaction (the caller commits with its own
   data);
2. right after commit, `publish_after_commit` hands the new event ids to Celery (`events.dispatch`);
3. if the broker was unreachable, the beat task `outbox.relay` publishes every event still unprocessed
   after `OUTBOX_RELAY_GRACE` seconds;
4. `dispatch()` runs the handlers registered for the event's type and marks it processed. A handler may
   run more than once (a relay racing a slow worker, a redelivered task), so each one is idempotent,
   keyed by the event id.

A type may instead have one batch handler (`handles_in_batches`): it handles the event together with
others of its type still waiting, which is how the worker keeps up with confirmation mail when many
people sign at once, and marks each event processed itself (`mark_processed`), in the transaction
that records the event's outcome. The other events' own tasks then find them processed.

Event types, what they carry and when they fire are documented in `EVENT_TYPES`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, String, event, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from campaigns.core.db import UTCDateTime, utcnow
from campaigns.extensions import db

log = logging.getLogger(__name__)

EVENT_TYPES: dict[str, str] = {
    "signature.created": "A supporter signed a petition; the signature is pending. "
    "Payload: signature_id. Sends the confirmation mail.",
    "signature.confirmation_requested": "A supporter signed again while pending and may receive "
    "the confirmation mail once more. Payload: signature_id.",
    "signature.signed_again": "Someone signed again with the address of a confirmed signature. "
    "Payload: signature_id. Tells the address's owner, by email, that their signature counts.",
    "signature.confirmed": "A supporter confirmed with the link in the mail. Payload: signature_id. "
    "Updates the counters and checks milestones.",
    "signature.rejected": "Someone said 'it wasn't me'; the address was removed. "
    "Payload: signature_id, was_confirmed. Corrects the counters.",
    "petition.milestone_reached": "A petition's confirmed count reached a milestone for the first "
    "time. Payload: petition_id, threshold, kind ('count' or 'goal').",
    "campaign.launched": "Staff launched a campaign: its page is live and takes signatures. "
    "Payload: campaign_id, staff_user_id.",
    "staff.password_reset_requested": "A staff member asked for a password reset. "
    "Payload: staff_user_id. Sends the reset link by email.",
}

# Which Celery queue an event's handlers run on: mail to supporters never waits behind bulk work.
EVENT_QUEUES: dict[str, str] = {
    "signature.created": "transactional",
    "signature.confirmation_requested": "transactional",
    "signature.signed_again": "transactional",
    "staff.password_reset_requested": "transactional",
}

Handler = Callable[["Event"], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_batch_handlers: dict[str, Handler] = {}


class Event(db.Model):
    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    relayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Event {self.type} {self.id}>"


_INSERT_EVENT = Event.__table__.insert()


def record_event(event_type: str, **payload: object) -> str:
    """Insert an event in the current transaction; it is published only if that transaction
    commits. Returns the event's id.

    A Core INSERT rather than an ORM object: signing writes one of these per request, and the
    unit of work's bookkeeping would cost more than the statement."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"undocumented event type {event_type!r}")
    event_id = uuid.uuid4().hex
    db.session.execute(
        _INSERT_EVENT,
        {"id": event_id, "type": event_type, "payload": payload, "created_at": utcnow()},
    )
    db.session.info.setdefault("outbox_pending", []).append((event_id, event_type))
    return event_id


def handles(event_type: str) -> Callable[[Handler], Handler]:
    """Register an idempotent handler for an event type (used by each domain's handlers.py)."""

    def register(func: Handler) -> Handler:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"undocumented event type {event_type!r}")
        if event_type in _batch_handlers:
            raise ValueError(f"{event_type!r} already has a batch handler")
        if func not in _handlers[event_type]:
            _handlers[event_type].append(func)
        return func

    return register


def handles_in_batches(event_type: str) -> Callable[[Handler], Handler]:
    """Register the batch handler of an event type: given one event, it handles that event and
    others of its type still waiting, and calls `mark_processed` for each event it is done with,
    in the transaction that records what it did. Like any handler it may run more than once."""

    def register(func: Handler) -> Handler:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"undocumented event type {event_type!r}")
        if _handlers.get(event_type) or _batch_handlers.get(event_type, func) is not func:
            raise ValueError(f"{event_type!r} already has handlers")
        _batch_handlers[event_type] = func
        return func

    return register


def mark_processed(evt: Event) -> None:
    """Mark an event processed as part of the current transaction (for batch handlers)."""
    evt.processed_at = utcnow()


def dispatch(event_id: str) -> None:
    """Run every handler of one event, then mark it processed. Safe to call more than once."""
    evt = db.session.get(Event, event_id)
    if evt is None or evt.processed_at is not None:
        return
    batch_handler = _batch_handlers.get(evt.type)
    if batch_handler is not None:
        batch_handler(evt)  # marks each event processed itself
        return
    for handler in _handlers.get(evt.type, []):
        handler(evt)
    evt.processed_at = utcnow()
    db.session.commit()


def give_up(event_id: str) -> None:
    """Give up on an event whose handler failed for good (the failure is recorded by the handler)."""
    db.session.rollback()
    evt = db.session.get(Event, event_id)
    if evt is not None and evt.processed_at is None:
        evt.processed_at = utcnow()
        db.session.commit()


# -- publishing ---------------------------------------------------------------------------------

# After a failed publish we stop trying for a few seconds, so that a broker outage costs requests
# one fast failure rather than a connection timeout each; the relay catches up afterwards.
_BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def publish(event_ids: list[tuple[str, str]]) -> bool:
    """Send `(event_id, event_type)` pairs to Celery. Returns False if the broker is unreachable."""
    global _broker_down_until
    if not event_ids or time.monotonic() < _broker_down_until:
        return not event_ids
    celery_app = current_app.extensions["celery"]
    try:
        with celery_app.producer_or_acquire() as producer:
            for event_id, event_type in event_ids:
                celery_app.send_task(
                    "events.dispatch",
                    args=[event_id],
                    queue=EVENT_QUEUES.get(event_type, "default"),
                    producer=producer,
                    retry=False,
                )
    except Exception:  # noqa: BLE001 - any broker failure: the relay will publish these later
        _broker_down_until = time.monotonic() + _BROKER_BACKOFF_SECONDS
        log.warning("broker unreachable; %d event(s) left for the outbox relay", len(event_ids))
        return False
    return True


def relay(limit: int = 500) -> int:
    """Publish events still unprocessed after the grace period (the beat safety net).

    The after-commit publish records nothing (that would cost every request a write), so an
    event that is merely waiting in a long queue is published once more after the grace period,
    and then at most every five grace periods; handlers are idempotent, so that only costs time."""
    now = utcnow()
    grace = timedelta(seconds=current_app.config["OUTBOX_RELAY_GRACE"])
    stale = (
        select(Event)
        .where(
            Event.processed_at.is_(None),
            Event.created_at < now - grace,
            or_(Event.relayed_at.is_(None), Event.relayed_at < now - 5 * grace),
        )
        .order_by(Event.created_at)
        .limit(limit)
    )
    events = db.session.scalars(stale).all()
    if events and publish([(e.id, e.type) for e in events]):
        for e in events:
            e.relayed_at = now
    db.session.commit()
    return len(events)


@event.listens_for(Session, "after_commit")
def publish_after_commit(session: Session) -> None:
    # SQLAlchemy also calls this when a SAVEPOINT is released; only the real COMMIT counts, or a
    # fast worker would look for an event row that is not committed yet.
    if session.in_nested_transaction():
        return
    pending = session.info.pop("outbox_pending", None)
    if pending:
        publish(pending)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:  # noqa: ANN001
    # Only the outermost rollback discards the pending events. A savepoint rolled back (say, a
    # milestone another worker recorded first) keeps the others; an id whose row vanished with the
    # savepoint is harmless, as dispatch() ignores unknown ids.
    if previous_transaction.parent is None:
        session.info.pop("outbox_pending", None)
