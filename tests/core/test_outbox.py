"""The transactional outbox: events commit with their data, publish after commit, run once."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

from sqlalchemy import func, select

from campaigns.core import events
from campaigns.core.db import utcnow
from campaigns.core.mail import SentMail
from campaigns.core.redis import get_redis
from campaigns.extensions import db
from tests.support import ManualClock, dispatch, relay, run_outbox, sign, unprocessed_events
from workers.events import prune_outbox


def queued_messages(app, queue: str) -> int:
    # kombu's Redis transport keeps a queue as a list under the global key prefix.
    return get_redis().llen(app.config["REDIS_KEY_PREFIX"] + queue)


def test_an_event_is_published_to_the_broker_after_commit(app, client, demo):
    sign(client)
    assert queued_messages(app, "transactional") == 1


def published_tasks(app) -> list[tuple[str, str]]:
    """(task name, argument) of the messages waiting in the broker's queues."""
    tasks = []
    for queue in ("transactional", "default"):
        for raw in get_redis().lrange(app.config["REDIS_KEY_PREFIX"] + queue, 0, -1):
            message = json.loads(raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            tasks.append((message["headers"]["task"], args[0]))
    return tasks


def published_event_ids(app) -> list[str]:
    """The event ids of the `events.dispatch` messages waiting in the broker's queues."""
    return [arg for task, arg in published_tasks(app) if task == "events.dispatch"]


def test_events_are_published_only_once_committed(app, client, demo, monkeypatch):
    """A worker must find the event row: publishing happens after the real COMMIT, not when
    the signing service's SAVEPOINT is released."""
    seen = []

    def publish_and_look(pairs):
        with db.engine.connect() as other_connection:  # sees committed rows only
            for event_id, _type in pairs:
                seen.append(
                    other_connection.execute(
                        select(events.Event.id).where(events.Event.id == event_id)
                    ).scalar()
                    == event_id
                )
        return True

    monkeypatch.setattr(events, "publish", publish_and_look)
    sign(client)
    assert seen == [True]


def test_a_rolled_back_event_is_never_published(app, demo):
    events.record_event("signature.created", signature_id=1)
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(events.Event)) == 0
    assert published_event_ids(app) == []


def test_a_savepoint_rolled_back_keeps_the_other_events(app, demo):
    kept_id = events.record_event("signature.signed_again", signature_id=1)
    with db.session.begin_nested() as savepoint:
        events.record_event("signature.confirmed", signature_id=1)
        db.session.flush()
        savepoint.rollback()
    db.session.commit()
    assert kept_id in published_event_ids(app)


def test_dispatching_twice_sends_one_mail(app, client, demo, mailbox):
    sign(client)
    event_id = db.session.scalar(select(events.Event.id))
    with app.app_context():
        dispatch(event_id)
    with app.app_context():
        # A redelivered task finds the event already processed...
        dispatch(event_id)
        # ...and even if it had not been marked, the mail is claimed once per event.
        db.session.execute(events.Event.__table__.update().values(processed_at=None))
        db.session.commit()
        dispatch(event_id)
    assert len(mailbox.messages) == 1
    assert db.session.scalar(select(SentMail.status)) == "sent"


def test_a_burst_of_signatures_publishes_one_task_and_it_sends_every_mail(
    app, client, demo, mailbox
):
    for n in range(30):  # more than one batch (25)
        assert sign(client, email=f"burst{n}@example.org").status_code == 303
    assert published_tasks(app) == [("events.drain", "signature.created")]

    with app.app_context():
        assert events.drain("signature.created", budget=60) is False
    recipients = sorted(rcpt for _sender, rcpts in mailbox.envelopes for rcpt in rcpts)
    assert recipients == sorted(f"burst{n}@example.org" for n in range(30))
    assert unprocessed_events() == 0

    # The drain unrang the doorbell when it started: the next signature publishes again.
    sign(client, email="after@example.org")
    assert published_tasks(app)[1:] == [("events.drain", "signature.created")]


def test_a_process_that_saw_the_doorbell_rung_does_not_ask_again_for_a_moment(app, client, demo):
    """In a burst, most events then cost the web process no Redis round trip."""
    sign(client, email="first@example.org")
    assert published_tasks(app) == [("events.drain", "signature.created")]
    with app.app_context():
        # A drain in another process unrings the bell; this process cannot know.
        get_redis().delete(events._doorbell("signature.created"))

    sign(client, email="second@example.org")
    # Nothing more: the drain that unrang the bell is still looking (see the next test).
    assert published_tasks(app) == [("events.drain", "signature.created")]

    for bell in events._bell_seen_at:  # the quiet period has passed
        events._bell_seen_at[bell] -= events.DOORBELL_QUIET_SECONDS
    sign(client, email="third@example.org")
    assert published_tasks(app) == [("events.drain", "signature.created")] * 2


def test_a_drain_finds_what_was_committed_without_a_ring_while_it_kept_looking(
    app, client, demo, mailbox, monkeypatch
):
    """A web process that saw the bell rung a moment ago commits an event without ringing: the
    drain that unrang the bell is still looking, and sends its mail. The drain's clock is held,
    and passes only when the test says, so the test knows at each step where the drain is."""
    clock = ManualClock()
    monkeypatch.setattr(events, "time", clock)
    looks: list[int] = []  # what each of the drain's looks took
    real_handler = events._batch_handlers["signature.created"]

    def counted(*args: object) -> int:
        looks.append(real_handler(*args))
        return looks[-1]

    monkeypatch.setitem(events._batch_handlers, "signature.created", counted)
    sign(client, email="first@example.org")
    with app.app_context():
        bell = events._doorbell("signature.created")
    outcome = {}

    def drain_as_a_worker() -> None:
        with app.app_context():
            outcome["more"] = events.drain("signature.created", budget=60)

    # What this process remembers of the bell, as a web process would (the drain runs in a
    # thread here, and forgets the bell of its own process when it unrings it).
    seen = dict(events._bell_seen_at)
    clock.hold()
    unrung_at = clock.monotonic()
    worker = threading.Thread(target=drain_as_a_worker)
    worker.start()
    try:
        clock.wait_for_sleep(1)  # the drain unrang the bell, took the first mail, and waits
        with app.app_context():
            assert not get_redis().exists(bell)
        assert looks == [1]
        assert [str(m["To"]) for m in mailbox.messages] == ["first@example.org"]
        clock.step()
        clock.wait_for_sleep(2)  # it looked again, found nothing, and goes on looking
        assert looks == [1, 0]

        events._bell_seen_at.update(seen)
        sign(client, email="late@example.org")  # the bell was seen rung a moment ago: no ring
        assert published_tasks(app) == [("events.drain", "signature.created")]
    finally:
        clock.release()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert outcome == {"more": False}
    assert looks[2] == 1  # the late event, at the drain's next look
    assert clock.monotonic() - unrung_at >= events.DOORBELL_QUIET_SECONDS
    recipients = sorted(rcpt for _sender, rcpts in mailbox.envelopes for rcpt in rcpts)
    assert recipients == ["first@example.org", "late@example.org"]
    assert unprocessed_events() == 0


def test_a_drain_out_of_time_says_so_and_leaves_the_rest_waiting(app, client, demo, mailbox):
    for n in range(30):
        sign(client, email=f"slow{n}@example.org")
    with app.app_context():
        assert events.drain("signature.created", budget=0) is True  # one batch, then time is up
    assert len(mailbox.messages) == 25
    assert unprocessed_events() == 5


def test_the_relay_publishes_events_left_behind(app, client, demo, monkeypatch):
    monkeypatch.setattr(events, "publish", lambda pairs: False)  # the broker was down at commit
    sign(client)
    monkeypatch.undo()
    assert queued_messages(app, "transactional") == 0

    with app.app_context():
        assert relay() == 0  # too recent: the after-commit publish may still be under way
        db.session.execute(
            events.Event.__table__.update().values(created_at=utcnow() - timedelta(minutes=5))
        )
        db.session.commit()
        assert relay() == 1
        assert relay() == 0  # not again right away
    # Its own task, whatever the doorbell says: a rung bell's drain task may have been lost.
    assert published_event_ids(app) == [db.session.scalar(select(events.Event.id))]
    assert run_outbox(app) == 1


def test_a_mail_a_killed_worker_claimed_is_relayed_once_its_claim_lapses(
    app, client, demo, mailbox, monkeypatch
):
    monkeypatch.setattr(events, "publish", lambda pairs: False)  # its task was lost
    sign(client)
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "MAIL_CLAIM_LEASE", 120)  # the default: two grace periods
    lease = timedelta(seconds=120)
    with app.app_context():
        event_id = db.session.scalar(select(events.Event.id))
        now = utcnow()
        # Relayed once already; its worker claimed the mail and was killed before sending it.
        db.session.execute(
            events.Event.__table__.update().values(
                created_at=now - timedelta(minutes=10),
                relayed_at=now - lease + timedelta(seconds=5),
            )
        )
        db.session.add(
            SentMail(
                key=f"confirm:{event_id}",
                template="petitions/confirm",
                status="sending",
                claimed_at=now - lease - timedelta(seconds=1),
            )
        )
        db.session.commit()
        assert relay() == 0  # relayed less than a lease ago
        db.session.execute(
            events.Event.__table__.update().values(relayed_at=now - lease - timedelta(seconds=1))
        )
        db.session.commit()
        assert relay() == 1  # the claim has lapsed: published again, not five grace periods on
    assert run_outbox(app) == 1
    assert len(mailbox.messages) == 1


def test_processed_events_are_pruned_after_the_keep_period(app, client, demo, mailbox):
    for n in range(3):
        sign(client, email=f"prune{n}@example.org")
    run_outbox(app)  # three confirmations sent: their events are processed
    sign(client, email="waiting@example.org")  # still waiting for its mail
    table = events.Event.__table__
    with app.app_context():
        old, recent = db.session.scalars(
            select(table.c.id).where(table.c.processed_at.is_not(None)).limit(2)
        ).all()
        db.session.execute(
            table.update()
            .where(table.c.id == old)
            .values(processed_at=utcnow() - timedelta(days=8))
        )
        db.session.commit()

        assert prune_outbox.run() == 1
        remaining = set(db.session.scalars(select(table.c.id)))
        assert old not in remaining
        assert recent in remaining
        assert len(remaining) == 3  # two processed this week, one waiting
        dispatch(old)  # a late task for the deleted event does nothing
    assert len(mailbox.messages) == 3
