"""Counters in Redis, the database as the truth, milestones exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from campaigns.core.db import commit_unit_of_work
from campaigns.core.events import Event
from campaigns.core.redis import get_redis, key
from campaigns.extensions import db
from campaigns.petitions import services as petitions
from campaigns.petitions import signing
from campaigns.petitions.models import Petition, Signature
from campaigns.petitions.tallies import services as tallies
from campaigns.petitions.tallies.models import Milestone
from tests.support import run_outbox


def add_confirmed(
    petition: Petition, n: int, country: str = "DE", start: int = 0
) -> list[Signature]:
    made = []
    for i in range(start, start + n):
        _outcome, signature_id = signing.sign(
            petition.campaign.slug,
            signing.SignatureInput(
                name=f"S{i}",
                email=f"s{i}@example.org",
                country=country,
                comment="",
                show_name=False,
                newsletter=False,
                locale="en",
            ),
        )
        commit_unit_of_work()  # as the view does
        signature = db.session.get(Signature, signature_id)
        petitions.confirm(signature)
        made.append(signature)
    db.session.commit()
    return made


def naloxone() -> Petition:
    return db.session.scalar(select(Petition).order_by(Petition.id))


def test_counters_follow_confirmations_and_survive_losing_redis(app, demo, mailbox):
    petition = naloxone()
    assert tallies.current_tally(petition.id).total == 0  # warms the counters
    add_confirmed(petition, 3, "DE")
    add_confirmed(petition, 2, "NO", start=3)
    run_outbox(app)

    tally = tallies.current_tally(petition.id)
    assert (tally.total, tally.by_country) == (5, {"DE": 3, "NO": 2})

    # Redis restarted empty: the next read rebuilds from the database.
    get_redis().delete(key("tally", "p", petition.id))
    assert tallies.current_tally(petition.id).total == 5

    # Counters that drifted are put right by the reconciler.
    get_redis().hset(key("tally", "p", petition.id), "total", 999)
    tallies.reconcile_all()
    assert tallies.current_tally(petition.id).total == 5


def test_counting_the_same_signature_twice_changes_nothing(app, demo, mailbox):
    petition = naloxone()
    tallies.current_tally(petition.id)
    [signature] = add_confirmed(petition, 1)
    assert tallies.count_confirmed(signature) == 1
    assert tallies.count_confirmed(signature) is None
    run_outbox(app)
    assert tallies.current_tally(petition.id).total == 1


def test_milestones_fire_exactly_once(app, demo, mailbox):
    app.config["MILESTONES"] = (2, 4)
    try:
        petition = naloxone()
        petition.goal = 3
        db.session.commit()
        tallies.current_tally(petition.id)
        add_confirmed(petition, 5)
        run_outbox(app)
        tallies.reconcile_all()  # would fire again if it could
        run_outbox(app)
    finally:
        app.config["MILESTONES"] = (100, 1_000, 10_000, 100_000, 1_000_000)

    reached = db.session.execute(
        select(Milestone.threshold, Milestone.kind).order_by(Milestone.threshold)
    ).all()
    assert reached == [(2, "count"), (3, "goal"), (4, "count")]
    events = db.session.scalars(
        select(Event).where(Event.type == "petition.milestone_reached")
    ).all()
    assert sorted(e.payload["threshold"] for e in events) == [2, 3, 4]


def test_when_redis_is_down_counts_come_from_the_database(app, demo, mailbox, monkeypatch):
    petition = naloxone()
    add_confirmed(petition, 2)
    import redis

    def broken(*_args, **_kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(redis.Redis, "hgetall", broken)
    assert tallies.current_tally(petition.id).total == 2


def test_several_tallies_at_once_warm_cold_or_without_redis(app, demo, mailbox, monkeypatch):
    petition = naloxone()
    add_confirmed(petition, 2)
    others = db.session.scalars(select(Petition).where(Petition.id != petition.id)).all()
    ids = [petition.id, *(other.id for other in others)]
    tallies.forget_counters(others[0].id)  # one cold: rebuilt from the database
    expected = {i: tallies.count_from_database(i).total for i in ids}
    assert expected[petition.id] == 2
    assert {i: t.total for i, t in tallies.current_tallies(ids).items()} == expected
    import redis

    def broken(*_args, **_kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(redis.Redis, "hgetall", broken)
    assert {i: t.total for i, t in tallies.current_tallies(ids).items()} == expected
    assert tallies.current_tallies([]) == {}


def test_a_rebuild_racing_confirmations_counts_each_once(app, demo, mailbox):
    petition = naloxone()
    old, recent = add_confirmed(petition, 2)
    # One confirmed long ago (before the rebuild's watermark), one just now.
    db.session.execute(
        Signature.__table__.update()
        .where(Signature.id == old.id)
        .values(confirmed_at=old.confirmed_at - timedelta(days=365))
    )
    db.session.commit()
    db.session.refresh(old)

    tallies.rebuild(petition.id)  # e.g. a page read on cold counters, before the worker ran
    assert tallies.count_confirmed(old) is None
    assert tallies.count_confirmed(recent) is None
    run_outbox(app)
    assert tallies.current_tally(petition.id).total == 2

    [late] = add_confirmed(petition, 1, start=2)  # confirmed after the rebuild: counted once
    assert tallies.count_confirmed(late) == 3
    assert tallies.count_confirmed(late) is None


def test_concurrent_confirmations_and_rebuilds_count_each_signature_once(app, demo):
    import threading

    petition_id = naloxone().id
    add_pending = []
    for i in range(40):
        _outcome, signature_id = signing.sign(
            naloxone().campaign.slug,
            signing.SignatureInput(
                name=f"C{i}",
                email=f"c{i}@example.org",
                country="AT",
                comment="",
                show_name=False,
                newsletter=False,
                locale="en",
            ),
        )
        add_pending.append(signature_id)
    db.session.commit()
    tallies.current_tally(petition_id)

    def confirm_some(ids: list[int]) -> None:
        with app.app_context():
            for signature_id in ids:
                signature = db.session.get(Signature, signature_id)
                petitions.confirm(signature)
                db.session.commit()
                tallies.count_confirmed(signature)

    def keep_rebuilding(stop: threading.Event) -> None:
        with app.app_context():
            while not stop.is_set():
                tallies.rebuild(petition_id)

    stop = threading.Event()
    rebuilder = threading.Thread(target=keep_rebuilding, args=(stop,))
    rebuilder.start()
    try:
        # A confirmation that failed would raise here, from its thread.
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(confirm_some, [add_pending[i::4] for i in range(4)]))
    finally:
        stop.set()
        rebuilder.join()

    assert tallies.current_tally(petition_id).total == 40
    assert tallies.count_from_database(petition_id).total == 40
