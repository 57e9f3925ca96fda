"""Confirmations per hour: the dashboard's time series, kept in HourlyConfirmations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute

from campaigns.core.db import utcnow
from campaigns.core.events import Event
from campaigns.extensions import db
from campaigns.petitions.models import Signature, SignatureStatus
from campaigns.petitions.tallies.models import HourlyConfirmations

# Two writers share the table and never count a signature twice because each owns different
# hours:
#
# - the event handlers own the recent hours: +1 when a signature is confirmed, -1 when a confirmed
#   one is withdrawn, each guarded by claiming its outbox event (`claim_event`), so a handler
#   that runs twice changes nothing the second time;
# - the reconciler owns the older hours and rewrites them exactly from the signatures (so a
#   withdrawn signature drops out, and a handler that came too late is made up for).
#
# An hour belongs to the handlers until _HOURLY_HANDLER_WINDOW after its end and to the
# reconciler from _HOURLY_REBUILD_DELAY after its end. The gap between the two is what makes it
# exact: a handler that decided to add to an hour would have to take ten minutes to commit for
# its +1 to land on an hour the reconciler already rewrote (the same watermark idea as the
# Redis counters' in `services`).
_HOURLY_HANDLER_WINDOW = timedelta(minutes=10)
_HOURLY_REBUILD_DELAY = timedelta(minutes=20)
_HOUR = timedelta(hours=1)


def floor_hour(moment: datetime) -> datetime:
    return aware(moment).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def claim_event(event: Event) -> bool:
    """Mark `event` processed in the current transaction if nobody has; True if this call did.

    dispatch() marks the event processed again after the handlers, which is harmless. On
    PostgreSQL a second worker's UPDATE waits for the first one's transaction and then finds the
    row processed; on SQLite writers take turns anyway."""
    done = db.session.execute(
        update(Event)
        .where(Event.id == event.id, Event.processed_at.is_(None))
        .values(processed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def count_hourly(signature: Signature, delta: int, now: datetime | None = None) -> bool:
    """Add `delta` (+1 confirmed, -1 withdrawn) to the hour `signature` was confirmed in, if that
    hour still belongs to the handlers (see above). The caller guards against running twice."""
    hour = floor_hour(signature.confirmed_at)
    if hour < floor_hour((now or utcnow()) - _HOURLY_HANDLER_WINDOW):
        return False  # the reconciler's now: it counts this signature at its next run
    statement = _insert(HourlyConfirmations).values(
        petition_id=signature.petition_id, hour=hour, confirmed=delta
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["petition_id", "hour"],
            set_={"confirmed": HourlyConfirmations.confirmed + statement.excluded.confirmed},
        )
    )
    return True


def rebuild_hourly(petition_id: int, before: datetime | None = None) -> int:
    """Rewrite the reconciler's hours of a petition (those before `before`, by default the ones
    that ended _HOURLY_REBUILD_DELAY ago) from its confirmed signatures, in the current
    transaction. Only rows that differ are written. Returns how many rows changed."""
    boundary = floor_hour(before) if before else floor_hour(utcnow() - _HOURLY_REBUILD_DELAY)
    truth = confirmations_by_hour(
        Signature.petition_id == petition_id, Signature.confirmed_at < boundary
    )
    stored = dict(
        db.session.execute(
            select(HourlyConfirmations.hour, HourlyConfirmations.confirmed).where(
                HourlyConfirmations.petition_id == petition_id,
                HourlyConfirmations.hour < boundary,
            )
        ).all()
    )
    gone = [hour for hour in stored if hour not in truth]
    changed = [
        {"petition_id": petition_id, "hour": hour, "confirmed": n}
        for hour, n in truth.items()
        if stored.get(hour) != n
    ]
    if gone:
        db.session.execute(
            delete(HourlyConfirmations).where(
                HourlyConfirmations.petition_id == petition_id,
                HourlyConfirmations.hour.in_(gone),
            )
        )
    if changed:
        statement = _insert(HourlyConfirmations)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=["petition_id", "hour"],
                set_={"confirmed": statement.excluded.confirmed},
            ),
            changed,
        )
    return len(gone) + len(changed)


def confirmations_by_hour(*conditions: ColumnElement[bool]) -> dict[datetime, int]:
    """Confirmed signatures matching `conditions`, counted per hour (UTC) in the database."""
    bucket = _hour_bucket(Signature.confirmed_at)
    rows = db.session.execute(
        select(bucket, func.count())
        .where(Signature.status == SignatureStatus.CONFIRMED, *conditions)
        .group_by(bucket)
    )
    return {_parse_hour(hour): n for hour, n in rows}


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _insert(table: type) -> postgresql.Insert | sqlite.Insert:
    # Both engines we run on have INSERT ... ON CONFLICT, under the same SQLAlchemy interface.
    return (postgresql.insert if _dialect() == "postgresql" else sqlite.insert)(table)


def _hour_bucket(column: InstrumentedAttribute) -> ColumnElement:
    if _dialect() == "postgresql":
        # In UTC whatever the session's time zone, so buckets match the stored hours.
        return func.date_trunc("hour", func.timezone("UTC", column))
    # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC.
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _parse_hour(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return aware(value)


def aware(moment: datetime) -> datetime:
    """`moment` as stored: a Core query on SQLite returns naive datetimes; every stored time is
    UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
