"""Counting confirmed signatures: fast Redis counters, the database as the truth, and the
milestones. The dashboard's counts per hour are in `hourly`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from flask import current_app
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.core.redis import get_redis, key
from campaigns.extensions import db
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.petitions.tallies.hourly import aware, rebuild_hourly
from campaigns.petitions.tallies.models import Milestone

log = logging.getLogger(__name__)

# How the Redis counters stay exact while signatures are confirmed concurrently:
#
# A rebuild installs a new hash holding the database's counts up to a watermark `asof` (a minute
# in the past, so no transaction still in flight is older) under a new `epoch`, then adds the
# signatures confirmed after the watermark one by one through the same script as everyone else.
# That script ignores a signature older than the watermark (the base has it) or already marked
# in the current epoch; so each confirmed signature is counted exactly once, whatever the order
# of rebuilds, requests and workers. A lock keeps two rebuilds of one petition apart.
_WATERMARK_MARGIN = timedelta(seconds=60)
_COUNTED_MARKER_TTL = 7 * 24 * 3600

_COUNT_ONCE = """
local asof = redis.call('HGET', KEYS[1], 'asof')
if not asof then return -1 end
if tonumber(ARGV[2]) <= tonumber(asof) then return -2 end
local marker = ARGV[1] .. redis.call('HGET', KEYS[1], 'epoch') .. ':' .. ARGV[3]
if not redis.call('SET', marker, '1', 'NX', 'EX', ARGV[4]) then return -2 end
redis.call('HINCRBY', KEYS[1], 'c:' .. ARGV[5], 1)
if ARGV[6] ~= '' then redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[6], 1) end
return redis.call('HINCRBY', KEYS[1], 'total', 1)
"""


@dataclass
class Tally:
    total: int = 0
    by_country: dict[str, int] = field(default_factory=dict)
    by_network: dict[int, int] = field(default_factory=dict)

    def countries_by_count(self) -> list[tuple[str, int]]:
        return sorted(self.by_country.items(), key=lambda item: (-item[1], item[0]))

    def add(self, country: str, network_id: int | None, n: int = 1) -> None:
        self.total += n
        self.by_country[country] = self.by_country.get(country, 0) + n
        if network_id is not None:
            self.by_network[network_id] = self.by_network.get(network_id, 0) + n

    def as_hash(self) -> dict[str, int]:
        fields = {"total": self.total}
        fields.update({f"c:{cc}": n for cc, n in self.by_country.items()})
        fields.update({f"n:{nid}": n for nid, n in self.by_network.items()})
        return fields

    @classmethod
    def from_hash(cls, fields: dict[str, str]) -> Tally:
        tally = cls(total=int(fields.get("total", 0)))
        for name, value in fields.items():
            if name.startswith("c:") and int(value):
                tally.by_country[name[2:]] = int(value)
            elif name.startswith("n:") and int(value):
                tally.by_network[int(name[2:])] = int(value)
        return tally


def _hash_key(petition_id: int) -> str:
    return key("tally", "p", petition_id)


def _views_key(petition_id: int) -> str:
    return key("tally", "views", petition_id)


def count_from_database(
    petition_id: int, up_to: datetime | None = None, connection: Connection | None = None
) -> Tally:
    """Confirmed signatures by country and network (all, or those confirmed up to `up_to`)."""
    query = (
        select(Signature.country, Signature.source_network_id, func.count())
        .where(Signature.petition_id == petition_id, Signature.status == SignatureStatus.CONFIRMED)
        .group_by(Signature.country, Signature.source_network_id)
    )
    if up_to is not None:
        query = query.where(Signature.confirmed_at <= up_to)
    tally = Tally()
    for country, network_id, n in (connection or db.session).execute(query):
        tally.add(country, network_id, n)
    return tally


def _marker_prefix(petition_id: int) -> str:
    return key("tally", "counted", petition_id, "")


def _count_once(
    client: redis.Redis | redis.client.Pipeline,
    petition_id: int,
    signature_id: int,
    confirmed_at: datetime,
    country: str,
    network_id: int | None,
) -> object:
    return client.eval(
        _COUNT_ONCE,
        1,
        _hash_key(petition_id),
        _marker_prefix(petition_id),
        confirmed_at.timestamp(),
        signature_id,
        _COUNTED_MARKER_TTL,
        country,
        network_id or "",
    )


def rebuild(petition_id: int) -> Tally:
    """Replace the Redis counters of a petition with the database's counts (see above)."""
    client = get_redis()
    lock = key("tally", "rebuilding", petition_id)
    if not client.set(lock, 1, nx=True, ex=60):
        return count_from_database(petition_id)  # another process is rebuilding right now
    try:
        asof = utcnow() - _WATERMARK_MARGIN
        # Own connections, outside the caller's transaction: the second read must see what
        # was committed after the first (a SQLite read transaction would keep its snapshot).
        with db.engine.connect() as conn:
            base = count_from_database(petition_id, up_to=asof, connection=conn)
        epoch = client.incr(key("tally", "epoch", petition_id))
        pipe = client.pipeline(transaction=True)
        pipe.delete(_hash_key(petition_id))
        pipe.hset(
            _hash_key(petition_id),
            mapping={**base.as_hash(), "asof": asof.timestamp(), "epoch": epoch},
        )
        pipe.execute()
        with db.engine.connect() as conn:
            recent = conn.execute(
                select(
                    Signature.id,
                    Signature.confirmed_at,
                    Signature.country,
                    Signature.source_network_id,
                ).where(
                    Signature.petition_id == petition_id,
                    Signature.status == SignatureStatus.CONFIRMED,
                    Signature.confirmed_at > asof,
                )
            ).all()
        pipe = client.pipeline(transaction=False)
        for signature_id, confirmed_at, country, network_id in recent:
            _count_once(pipe, petition_id, signature_id, aware(confirmed_at), country, network_id)
        pipe.execute()
        return Tally.from_hash(client.hgetall(_hash_key(petition_id)))
    finally:
        client.delete(lock)


def current_tally(petition_id: int, *, count_view: bool = False) -> Tally:
    """The counts for public pages: from Redis when it has them, else from the database.
    `count_view` also counts one view of the petition page, in the same round trip."""
    try:
        if count_view:
            pipe = get_redis().pipeline(transaction=False)
            pipe.hgetall(_hash_key(petition_id))
            pipe.incr(_views_key(petition_id))
            fields, _views = pipe.execute()
        else:
            fields = get_redis().hgetall(_hash_key(petition_id))
        if fields:
            return Tally.from_hash(fields)
        return rebuild(petition_id)
    except redis.RedisError:
        log.warning("redis unavailable; counting petition %s in the database", petition_id)
        return count_from_database(petition_id)


def current_tallies(petition_ids: list[int]) -> dict[int, Tally]:
    """`current_tally` of several petitions in one Redis round trip (an API page of them)."""
    if not petition_ids:
        return {}
    try:
        pipe = get_redis().pipeline(transaction=False)
        for petition_id in petition_ids:
            pipe.hgetall(_hash_key(petition_id))
        hashes = pipe.execute()
        return {
            petition_id: Tally.from_hash(fields) if fields else rebuild(petition_id)
            for petition_id, fields in zip(petition_ids, hashes, strict=True)
        }
    except redis.RedisError:
        log.warning("redis unavailable; counting %d petitions in the database", len(petition_ids))
        return {petition_id: count_from_database(petition_id) for petition_id in petition_ids}


def page_views(petition_id: int) -> int | None:
    """How often the petition page was shown: a bare count, nothing about who. Kept in Redis
    only, so None when Redis is away (and it starts again from 0 if Redis loses its data)."""
    try:
        return int(get_redis().get(_views_key(petition_id)) or 0)
    except redis.RedisError:
        return None


def count_confirmed(signature: Signature) -> int | None:
    """Add a newly confirmed signature to the counters, once. Returns the new total, or None if
    it was counted already or the counters are cold (the next read rebuilds them)."""
    result = _count_once(
        get_redis(),
        signature.petition_id,
        signature.id,
        signature.confirmed_at,
        signature.country,
        signature.source_network_id,
    )
    return int(result) if result is not None and int(result) >= 0 else None


def forget_counters(petition_id: int) -> None:
    """Drop a petition's counters so the next read rebuilds them (after a confirmed one is removed)."""
    get_redis().delete(_hash_key(petition_id))


def record_milestones(petition: Petition, total: int) -> list[Milestone]:
    """Record every milestone `total` has reached that was not recorded yet, each exactly once."""
    thresholds = {t: "count" for t in current_app.config["MILESTONES"] if t <= total}
    if petition.goal <= total:
        thresholds[petition.goal] = "goal"
    if not thresholds:
        return []
    known = set(
        db.session.scalars(
            select(Milestone.threshold).where(Milestone.petition_id == petition.id)
        ).all()
    )
    recorded = []
    for threshold, kind in sorted(thresholds.items()):
        if threshold in known:
            continue
        try:
            with db.session.begin_nested():
                milestone = Milestone(petition_id=petition.id, threshold=threshold, kind=kind)
                db.session.add(milestone)
                record_event(
                    "petition.milestone_reached",
                    petition_id=petition.id,
                    threshold=threshold,
                    kind=kind,
                )
            recorded.append(milestone)
        except IntegrityError:
            log.info("milestone %s of petition %s recorded concurrently", threshold, petition.id)
    return recorded


def reconcile_all() -> int:
    """Rebuild every petition's counters from the database and catch up on milestones (the
    caller commits them)."""
    petitions = db.session.scalars(select(Petition)).all()
    for petition in petitions:
        tally = rebuild(petition.id)
        record_milestones(petition, tally.total)
        rebuild_hourly(petition.id)
    return len(petitions)
