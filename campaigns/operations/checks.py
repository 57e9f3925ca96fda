"""The checks of the staff status page and of `flask doctor`, each a plain function returning
results: what readiness checks (`operations.readiness`), then the workers seen per queue, beat's
last tick, the outbox's oldest waiting event, the queues' depths, and the mailings and letters
being sent.

Each says OK, warning or failing, with the figures that made it so. A check that cannot reach
what it reads (Redis or the database down) fails with that reason, and the others still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import redis
from flask import current_app
from flask_babel import format_decimal, format_timedelta, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from campaigns.core.db import utcnow
from campaigns.core.events import Event
from campaigns.core.redis import get_redis
from campaigns.core.tasks import QUEUES
from campaigns.extensions import db
from campaigns.lobbying.models import LetterDelivery, LetterDeliveryStatus
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing, MailingStatus
from campaigns.operations import heartbeats
from campaigns.operations.readiness import readiness
from campaigns.operations.results import Result, State

# Beat ticks whenever something is due (every WEBHOOK_TICK_INTERVAL, 5 s, by default) and says
# how long it will sleep; later than that by more than this is a warning, by BEAT_FAILING a failure.
BEAT_LATE = 30  # seconds
BEAT_FAILING = 300
# An outbox event waits for a worker, or for the relay after OUTBOX_RELAY_GRACE: older than the
# grace plus one relay interval, something is slow; ten times that, something is broken.
OUTBOX_FAILING_FACTOR = 10
QUEUE_DEPTH_WARNING = 1000  # messages waiting in one queue
# A letter's due time already allows for its target's pace and office hours.
LETTER_OVERDUE = timedelta(minutes=15)
# Kombu's Redis transport keeps a queue's messages of priorities 3, 6 and 9 in lists of their
# own: the queue's name, this separator and the priority.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


def _ago(seconds: float) -> str:
    return format_timedelta(timedelta(seconds=max(seconds, 0)), threshold=1.5)


def _number(n: int) -> str:
    return format_decimal(n)


def check_workers(client: redis.Redis, prefix: str, now: float) -> list[Result]:
    seen = heartbeats.workers_seen(client, prefix, QUEUES, now)
    results = []
    for queue in QUEUES:
        label = _("Workers on queue %(queue)s", queue=queue)
        nodes = seen[queue]
        if nodes:
            detail = ngettext(
                "%(num)d seen in the last minute: %(nodes)s",
                "%(num)d seen in the last minute: %(nodes)s",
                len(nodes),
                nodes=", ".join(nodes),
            )
            results.append(Result(f"workers:{queue}", label, State.OK, detail))
        else:
            detail = _("none seen in the last minute: its tasks wait")
            results.append(Result(f"workers:{queue}", label, State.FAILING, detail))
    return results


def check_beat(client: redis.Redis, prefix: str, now: float) -> list[Result]:
    label = _("Beat (the scheduler)")
    tick = heartbeats.last_beat_tick(client, prefix)
    if tick is None:
        return [Result("beat", label, State.FAILING, _("no tick seen"))]
    at, next_in = tick
    late = now - at - next_in
    detail = _("last tick %(ago)s ago", ago=_ago(now - at))
    state = State.OK
    if late > BEAT_FAILING:
        state = State.FAILING
    elif late > BEAT_LATE:
        state = State.WARNING
    if state != State.OK:
        detail = _("%(detail)s, %(late)s late", detail=detail, late=_ago(late))
    return [Result("beat", label, state, detail)]


def check_outbox(now: datetime) -> list[Result]:
    label = _("Outbox")
    waiting, oldest = db.session.execute(
        select(func.count(), func.min(Event.created_at)).where(Event.processed_at.is_(None))
    ).one()
    if not waiting:
        return [Result("outbox", label, State.OK, _("no event waiting"))]
    age = (now - oldest).total_seconds()
    config = current_app.config
    grace = config["OUTBOX_RELAY_GRACE"] + config["OUTBOX_RELAY_INTERVAL"]
    state = State.OK
    if age > OUTBOX_FAILING_FACTOR * grace:
        state = State.FAILING
    elif age > grace:
        state = State.WARNING
    detail = ngettext(
        "%(count)s event waiting, the oldest for %(age)s",
        "%(count)s events waiting, the oldest for %(age)s",
        waiting,
        count=_number(waiting),
        age=_ago(age),
    )
    return [Result("outbox", label, state, detail)]


def queue_depths(client: redis.Redis, prefix: str) -> dict[str, int]:
    """Messages waiting in each Celery queue (the broker's lists; taken, unacknowledged ones not)."""
    pipe = client.pipeline(transaction=False)
    for queue in QUEUES:
        pipe.llen(prefix + queue)
        for priority in PRIORITY_STEPS:
            pipe.llen(f"{prefix}{queue}{PRIORITY_SEPARATOR}{priority}")
    lengths = iter(pipe.execute())
    return {queue: sum(next(lengths) for _ in range(1 + len(PRIORITY_STEPS))) for queue in QUEUES}


def check_queues(client: redis.Redis, prefix: str) -> list[Result]:
    results = []
    for queue, depth in queue_depths(client, prefix).items():
        state = State.WARNING if depth >= QUEUE_DEPTH_WARNING else State.OK
        detail = ngettext(
            "%(count)s message waiting", "%(count)s messages waiting", depth, count=_number(depth)
        )
        label = _("Queue %(queue)s", queue=queue)
        results.append(Result(f"queue:{queue}", label, state, detail))
    return results


def check_mailings(now: datetime) -> list[Result]:
    """Mailings being sent, their recipients still to go, and claims a dead worker left."""
    label = _("Mailings in progress")
    by_status = dict(
        db.session.execute(
            select(Mailing.status, func.count())
            .where(Mailing.status.in_([MailingStatus.SENDING, MailingStatus.PAUSED]))
            .group_by(Mailing.status)
        ).all()
    )
    lease = timedelta(seconds=current_app.config["MAILING_CLAIM_LEASE"])
    sending = select(Mailing.id).where(Mailing.status == MailingStatus.SENDING)
    to_go, stale = db.session.execute(
        select(
            func.count(),
            func.count().filter(
                Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - lease
            ),
        ).where(
            Delivery.mailing_id.in_(sending),
            Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
        )
    ).one()
    detail = _(
        "%(sending)s sending (%(to_go)s recipients to go), %(paused)s paused",
        sending=_number(by_status.get(MailingStatus.SENDING, 0)),
        to_go=_number(to_go),
        paused=_number(by_status.get(MailingStatus.PAUSED, 0)),
    )
    if stale:
        detail = _(
            "%(detail)s; %(stale)s recipients claimed by a worker that stopped (beat hands "
            "them back)",
            detail=detail,
            stale=_number(stale),
        )
        return [Result("mailings", label, State.WARNING, detail)]
    return [Result("mailings", label, State.OK, detail)]


def check_letters(now: datetime) -> list[Result]:
    """Letters to policymakers that are due or being sent, and those overdue or stuck."""
    label = _("Letters in progress")
    lease = timedelta(seconds=current_app.config["LOBBYING_CLAIM_LEASE"])
    scheduled = LetterDelivery.status == LetterDeliveryStatus.SCHEDULED
    claimed = LetterDelivery.status == LetterDeliveryStatus.SENDING
    due, overdue, sending, stale = db.session.execute(
        select(
            func.count().filter(scheduled, LetterDelivery.due_at <= now),
            func.count().filter(scheduled, LetterDelivery.due_at <= now - LETTER_OVERDUE),
            func.count().filter(claimed),
            func.count().filter(claimed, LetterDelivery.claimed_at < now - lease),
        ).where(
            LetterDelivery.status.in_(
                [LetterDeliveryStatus.SCHEDULED, LetterDeliveryStatus.SENDING]
            )
        )
    ).one()
    detail = _("%(due)s due, %(sending)s being sent", due=_number(due), sending=_number(sending))
    state = State.OK
    if overdue:
        state = State.WARNING
        detail = _(
            "%(detail)s; %(overdue)s due for more than %(window)s",
            detail=detail,
            overdue=_number(overdue),
            window=_ago(LETTER_OVERDUE.total_seconds()),
        )
    if stale:
        state = State.WARNING
        detail = _(
            "%(detail)s; %(stale)s claimed by a worker that stopped (beat hands them back)",
            detail=detail,
            stale=_number(stale),
        )
    return [Result("letters", label, state, detail)]


def _guarded(name: str, label: str, check: Callable[[], list[Result]]) -> list[Result]:
    """Run `check`; if what it reads cannot be reached, it fails with that reason."""
    try:
        return check()
    except redis.RedisError as exc:
        detail = _("Redis unreachable (%(error)s)", error=type(exc).__name__)
    except SQLAlchemyError as exc:
        db.session.rollback()
        detail = _("database unreachable (%(error)s)", error=type(exc).__name__)
    return [Result(name, label, State.FAILING, detail)]


def status_checks() -> list[Result]:
    """Every check, in the order the status page and `flask doctor` show them."""
    client = get_redis()
    prefix = current_app.config["REDIS_KEY_PREFIX"]
    now, moment = time.time(), utcnow()
    results = readiness()
    results += _guarded("workers", _("Workers"), lambda: check_workers(client, prefix, now))
    results += _guarded("beat", _("Beat (the scheduler)"), lambda: check_beat(client, prefix, now))
    results += _guarded("outbox", _("Outbox"), lambda: check_outbox(moment))
    results += _guarded("queues", _("Queues"), lambda: check_queues(client, prefix))
    results += _guarded("mailings", _("Mailings in progress"), lambda: check_mailings(moment))
    results += _guarded("letters", _("Letters in progress"), lambda: check_letters(moment))
    db.session.rollback()  # read-only: end the transaction the queries opened
    return results
