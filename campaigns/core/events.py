"""The transactional outbox.

A side effect that leaves the process (a mail, a webhook, a counter update) starts as an `Event` row
written in the same transaction as the data that caused it. Nothing is published before that
transaction commits:

1. `record_event()` inserts the row in the session's transaction (the caller commits with its own
   data); a statement that writes the row itself takes `new_event_id()` and calls
   `publish_on_commit()`, or `publish_committed()` once it returned if it ran in autocommit
   (signing does, to store a signature in one statement);
2. right after commit, `publish_after_commit` hands the new events to Celery (`publish()`);
3. if the broker was unreachable, the beat task `outbox.relay` publishes every event still unprocessed
   after `OUTBOX_RELAY_GRACE` seconds;
4. `dispatch()` runs the handlers registered for the event's type and marks it processed. A handler may
   run more than once (a relay racing a slow worker, a redelivered task), so each one is idempotent,
   keyed by the event id.

A type may instead have one batch handler (`handles_in_batches`): it handles the event together with
others of its type still waiting, which is how the worker keeps up with confirmation mail when many
people sign at once, and marks each event processed itself (`mark_processed`), in the transaction
that records the event's outcome.

Events of such a type are not published one task each. The first event of a burst rings a doorbell
(a Redis key set only if it is absent) and publishes one `events.drain` task for its type; events
committed while that task waits find the bell rung and publish nothing. The task unrings the bell
before it looks for work, so an event committed after that rings again, and another worker may
join in. The task then runs the batch handler until a batch settles nothing (none waiting, or
another worker took them) or its time budget is spent, when it rings again (`drain()`). A bell
whose task was lost lapses after `DOORBELL_TTL`; the relay publishes what it left behind.

In a burst even asking Redis is too much: a web process that saw a bell rung takes it as rung,
without asking, for `DOORBELL_QUIET_SECONDS`, and every drain keeps looking that long after it
unrings the bell, so what those processes commit meanwhile is still found.

Event types, what they carry and when they fire are documented in `event_types.py`.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, Index, String, bindparam, delete, event, or_, select, text
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from campaigns.core.db import UTCDateTime, utcnow
from campaigns.core.event_types import EVENT_QUEUES, EVENT_TYPES
from campaigns.core.redis import get_redis, key
from campaigns.core.tasks import DEFAULT
from campaigns.extensions import db

log = logging.getLogger(__name__)

Handler = Callable[["Event"], None]
# (event type, an event of that type or None) -> how many events it settled; 0 when none was
# waiting or another worker took them all.
BatchHandler = Callable[[str, "Event | None"], int]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_batch_handlers: dict[str, BatchHandler] = {}

DOORBELL_TTL = 30  # seconds
# A process that saw a doorbell rung (it rang it, or found it rung) does not ask Redis again for
# this long: in a burst, most events then cost no round trip at all. In exchange every drain
# keeps looking at least this long after it unrings the bell, so the task that unrings a bell
# seen rung still finds the events committed by whoever skipped asking (see `drain`).
DOORBELL_QUIET_SECONDS = 1.0
# Doorbell key -> time.monotonic() just before this process last saw it rung.
_bell_seen_at: dict[str, float] = {}
# A drain that settled fewer events than this in a batch (of up to 25 confirmation mails, see
# petitions.handlers) waits DRAIN_GATHER_SECONDS before the next.
DRAIN_FULL_BATCH = 10
DRAIN_GATHER_SECONDS = 0.2


class Event(db.Model):
    __tablename__ = "outbox_events"
    __table_args__ = (
        # The oldest events of a type still waiting, in a short index scan (batch handlers).
        Index(
            "ix_outbox_events_waiting",
            "type",
            "created_at",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    relayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Event {self.type} {self.id}>"


_INSERT_EVENT = Event.__table__.insert()
_MARK_PROCESSED = (
    Event.__table__.update()
    .where(Event.__table__.c.id == bindparam("event_id"))
    .values(processed_at=bindparam("now"))
)


def record_event(event_type: str, **payload: object) -> str:
    """Insert an event in the current transaction; it is published only if that transaction
    commits. Returns the event's id.

    A Core INSERT rather than an ORM object: signing writes one of these per request, and the
    unit of work's bookkeeping would cost more than the statement."""
    event_id = new_event_id(event_type)
    db.session.execute(
        _INSERT_EVENT,
        {"id": event_id, "type": event_type, "payload": payload, "created_at": utcnow()},
    )
    publish_on_commit(event_id, event_type)
    return event_id


def new_event_id(event_type: str) -> str:
    """A new event's id, after checking its type is documented. For a statement that writes the
    event row itself (see `petitions.signing.sign`); it then calls `publish_on_commit`, or
    `publish_committed` once the row is committed."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"undocumented event type {event_type!r}")
    return uuid.uuid4().hex


def publish_on_commit(event_id: str, event_type: str) -> None:
    """Publish an event written in the session's transaction once that transaction commits."""
    db.session.info.setdefault("outbox_pending", []).append((event_id, event_type))


def publish_committed(event_id: str, event_type: str) -> None:
    """Publish an event whose row is committed already (written by a statement in autocommit)."""
    publish([(event_id, event_type)])


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


def handles_in_batches(event_type: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register the batch handler of an event type: given the type and one event (or None), it
    handles that event and others of its type still waiting, calls `mark_processed` for each event
    it is done with, in the transaction that records what it did, and returns how many it took.
    Like any handler it may run more than once."""

    def register(func: BatchHandler) -> BatchHandler:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"undocumented event type {event_type!r}")
        if _handlers.get(event_type) or _batch_handlers.get(event_type, func) is not func:
            raise ValueError(f"{event_type!r} already has handlers")
        _batch_handlers[event_type] = func
        return func

    return register


def mark_processed(evt: Event) -> None:
    """Mark an event processed as part of the current transaction (for batch handlers).

    A Core UPDATE, with the loaded object told the new value: a batch marks one event per mail,
    and an ORM flush each time would cost more than the statement."""
    now = utcnow()
    db.session.execute(_MARK_PROCESSED, {"event_id": evt.id, "now": now})
    set_committed_value(evt, "processed_at", now)


def dispatch(event_id: str) -> None:
    """Run every handler of one event, then mark it processed, in the caller's transaction (a
    batch handler commits what it settles itself, see `handles_in_batches`). Safe to call more
    than once."""
    evt = db.session.get(Event, event_id)
    if evt is None or evt.processed_at is not None:
        return
    batch_handler = _batch_handlers.get(evt.type)
    if batch_handler is not None:
        batch_handler(evt.type, evt)  # marks each event processed itself
        return
    for handler in _handlers.get(evt.type, []):
        handler(evt)
    evt.processed_at = utcnow()


def drain(event_type: str, budget: float) -> bool:
    """Unring the doorbell of `event_type`, then run its batch handler until no event is waiting
    (looking for at least DOORBELL_QUIET_SECONDS after the unringing) or `budget` seconds have
    passed. True if it stopped for the time: the caller rings again."""
    bell = _doorbell(event_type)
    get_redis().delete(bell)  # first: from now on a new event rings again
    _bell_seen_at.pop(bell, None)
    unrung_at = time.monotonic()
    handle_batch = _batch_handlers[event_type]
    deadline = unrung_at + budget
    while True:
        looked_at = time.monotonic()
        taken = handle_batch(event_type, None)
        if taken and time.monotonic() > deadline:
            return True
        if not taken and looked_at - unrung_at >= DOORBELL_QUIET_SECONDS:
            # Nothing waits, and this look began after every process that saw the bell rung
            # before it was unrung has stopped skipping the bell: an event committed from now on
            # rings again.
            return False
        if taken < DRAIN_FULL_BATCH:
            # Events are trickling in: let a few more arrive, so that the next batch shares its
            # queries and its claim among more mails.
            time.sleep(DRAIN_GATHER_SECONDS)


def give_up(event_id: str) -> None:
    """Give up on an event whose handler failed for good (the failure is recorded by the
    handler): mark it processed. The caller rolls the failed work back first, then commits."""
    evt = db.session.get(Event, event_id)
    if evt is not None and evt.processed_at is None:
        evt.processed_at = utcnow()


# -- publishing ---------------------------------------------------------------------------------

# After a failed publish we stop trying for a few seconds, so that a broker outage costs requests
# one fast failure rather than a connection timeout each; the relay catches up afterwards.
_BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def publish(event_ids: list[tuple[str, str]], doorbells: bool = True) -> bool:
    """Send `(event_id, event_type)` pairs to Celery: one `events.dispatch` task per event, or for
    a type with a batch handler, one `events.drain` if its doorbell was not rung already (unless
    `doorbells` is false). Returns False if the broker is unreachable."""
    global _broker_down_until
    if not event_ids or time.monotonic() < _broker_down_until:
        return not event_ids
    batched = {t for _, t in event_ids if doorbells and t in _batch_handlers}
    try:
        _send([("events.dispatch", i, t) for i, t in event_ids if t not in batched])
        ring(*batched)
    except Exception:  # noqa: BLE001 - any broker failure: the relay will publish these later
        _broker_down_until = time.monotonic() + _BROKER_BACKOFF_SECONDS
        log.warning("broker unreachable; %d event(s) left for the outbox relay", len(event_ids))
        return False
    return True


def ring(*event_types: str) -> None:
    """Publish an `events.drain` for each type whose doorbell is not rung already. If publishing
    fails, the bells it rang are unrung, so the next event tries again.

    A bell this process saw rung less than DOORBELL_QUIET_SECONDS ago is taken as still rung,
    without asking Redis: the drain that unrings it keeps looking for that long afterwards."""
    # Read before asking Redis, so that it is never later than the moment the bell was seen.
    now = time.monotonic()
    rung, seen = [], []
    try:
        for event_type in event_types:
            bell = _doorbell(event_type)
            seen_at = _bell_seen_at.get(bell)
            if seen_at is not None and now - seen_at < DOORBELL_QUIET_SECONDS:
                continue
            if get_redis().set(bell, 1, nx=True, ex=DOORBELL_TTL):
                rung.append(event_type)
            seen.append(bell)
        _send([("events.drain", t, t) for t in rung])
    except Exception:
        if rung:
            with contextlib.suppress(Exception):  # Redis itself may be what failed
                get_redis().delete(*map(_doorbell, rung))
        raise
    for bell in seen:
        _bell_seen_at[bell] = now


def _doorbell(event_type: str) -> str:
    return key("outbox-doorbell", event_type)


def _send(tasks: list[tuple[str, str, str]]) -> None:
    """Publish `(task name, its argument, event type)` triples on the event types' queues."""
    if not tasks:
        return
    celery_app = current_app.extensions["celery"]
    with celery_app.producer_or_acquire() as producer:
        for name, argument, event_type in tasks:
            celery_app.send_task(
                name,
                args=[argument],
                queue=EVENT_QUEUES.get(event_type, DEFAULT),
                producer=producer,
                retry=False,
            )


def relay(limit: int = 500) -> int:
    """Publish events still unprocessed after the grace period (the beat safety net); the
    caller commits the time each was relayed.

    The after-commit publish records nothing (that would cost every request a write), so an
    event that is merely waiting in a long queue is published once more after the grace period;
    handlers are idempotent, so that only costs time. It is published again at most once per
    MAIL_CLAIM_LEASE: a worker killed while sending the event's mail leaves a claim that no one
    may take before the lease runs out, so a relay sooner would find the mail claimed, and one
    much later would leave the supporter waiting (the chaos suite measured more than five
    minutes when the repeat was five grace periods: RELIABILITY.md).
    One task per event, whatever the doorbells say: a bell may be rung for a drain task that
    was lost."""
    now = utcnow()
    grace = timedelta(seconds=current_app.config["OUTBOX_RELAY_GRACE"])
    repeat = max(grace, timedelta(seconds=current_app.config["MAIL_CLAIM_LEASE"]))
    stale = (
        select(Event)
        .where(
            Event.processed_at.is_(None),
            Event.created_at < now - grace,
            or_(Event.relayed_at.is_(None), Event.relayed_at < now - repeat),
        )
        .order_by(Event.created_at)
        .limit(limit)
    )
    events = db.session.scalars(stale).all()
    if events and publish([(e.id, e.type) for e in events], doorbells=False):
        for e in events:
            e.relayed_at = now
    return len(events)


def prune(older_than: timedelta, batch: int = 5000) -> int:
    """Delete up to `batch` events processed more than `older_than` ago; the caller commits.
    Returns how many were deleted.

    A processed event has done its work: what it caused is recorded in its own tables (the
    mail sent, the counts, the milestones). A task that arrives late for a deleted event finds
    no row and does nothing (`dispatch`), so only the outbox stops growing with every
    signature."""
    cutoff = utcnow() - older_than
    ids = db.session.scalars(select(Event.id).where(Event.processed_at < cutoff).limit(batch)).all()
    if ids:
        db.session.execute(delete(Event).where(Event.id.in_(ids)))
    return len(ids)


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
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the outermost rollback discards the pending events. A savepoint rolled back (say, a
    # milestone another worker recorded first) keeps the others; an id whose row vanished with the
    # savepoint is harmless, as dispatch() ignores unknown ids.
    if previous_transaction.parent is None:
        session.info.pop("outbox_pending", None)
