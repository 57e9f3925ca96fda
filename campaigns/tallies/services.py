"""Counting confirmed signatures: fast Redis counters, the database as the truth."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.core.redis import get_redis, key
from campaigns.extensions import db
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.tallies.models import Milestone

log = logging.getLogger(__name__)

# How the Redis counters stay exact while signatures are confirmed concurrently:
#
# A rebuild counts, from the database, every signature confirmed up to a watermark `asof` (a few
# seconds in the past, so no transaction still in flight can be older), adds the few confirmed
# after it one by one, and starts a new `epoch`. Counting a signature afterwards is a no-op if it
# is older than the watermark (the rebuild has it) or already carries this epoch's marker; so
# every confirmed signature is counted exactly once, whichever runs first.
_WATERMARK_MARGIN = timedelta(seconds=5)
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

    def add(self, country: str, network_id: int | None) -> None:
        self.total += 1
        self.by_country[country] = self.by_country.get(country, 0) + 1
        if network_id is not None:
            self.by_network[network_id] = self.by_network.get(network_id, 0) + 1

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


def count_from_database(petition_id: int, up_to: datetime | None = None) -> Tally:
    """Confirmed signatures by country and network (all, or those confirmed up to `up_to`)."""
    query = (
        select(Signature.country, Signature.source_network_id, func.count())
        .where(Signature.petition_id == petition_id, Signature.status == SignatureStatus.CONFIRMED)
        .group_by(Signature.country, Signature.source_network_id)
    )
    if up_to is not None:
        query = query.where(Signature.confirmed_at <= up_to)
    tally = Tally()
    for country, network_id, n in db.session.execute(query):
        tally.total += n
        tally.by_country[country] = tally.by_country.get(country, 0) + n
        if network_id is not None:
            tally.by_network[network_id] = tally.by_network.get(network_id, 0) + n
    return tally


def _marker_prefix(petition_id: int) -> str:
    return key("tally", "counted", petition_id, "")


def rebuild(petition_id: int) -> Tally:
    """Replace the Redis counters of a petition with the database's counts (see above)."""
    client = get_redis()
    asof = utcnow() - _WATERMARK_MARGIN
    tally = count_from_database(petition_id, up_to=asof)
    recent = db.session.execute(
        select(Signature.id, Signature.country, Signature.source_network_id).where(
            Signature.petition_id == petition_id,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.confirmed_at > asof,
        )
    ).all()
    epoch = client.incr(key("tally", "epoch", petition_id))
    pipe = client.pipeline(transaction=True)
    for signature_id, country, network_id in recent:
        tally.add(country, network_id)
        pipe.set(f"{_marker_prefix(petition_id)}{epoch}:{signature_id}", 1, ex=_COUNTED_MARKER_TTL)
    pipe.delete(_hash_key(petition_id))
    pipe.hset(
        _hash_key(petition_id),
        mapping={**tally.as_hash(), "asof": asof.timestamp(), "epoch": epoch},
    )
    pipe.execute()
    return tally


def current_tally(petition_id: int) -> Tally:
    """The counts for public pages: from Redis when it has them, else from the database."""
    try:
        fields = get_redis().hgetall(_hash_key(petition_id))
        if fields:
            return Tally.from_hash(fields)
        return rebuild(petition_id)
    except redis.RedisError:
        log.warning("redis unavailable; counting petition %s in the database", petition_id)
        return count_from_database(petition_id)


def count_confirmed(signature: Signature) -> int | None:
    """Add a newly confirmed signature to the counters, once. Returns the new total, or None if
    it was counted already or the counters are cold (the next read rebuilds them)."""
    result = get_redis().eval(
        _COUNT_ONCE,
        1,
        _hash_key(signature.petition_id),
        _marker_prefix(signature.petition_id),
        signature.confirmed_at.timestamp(),
        signature.id,
        _COUNTED_MARKER_TTL,
        signature.country,
        signature.source_network_id or "",
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
    """Rebuild every petition's counters from the database and catch up on milestones."""
    petitions = db.session.scalars(select(Petition)).all()
    for petition in petitions:
        tally = rebuild(petition.id)
        record_milestones(petition, tally.total)
    db.session.commit()
    return len(petitions)
