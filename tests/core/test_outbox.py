"""The transactional outbox: events commit with their data, publish after commit, run once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from campaigns.core import events
from campaigns.core.db import utcnow
from campaigns.core.mail import SentMail
from campaigns.core.redis import get_redis
from campaigns.extensions import db
from tests.support import run_outbox, sign


def queued_messages(app, queue: str) -> int:  # noqa: ANN001
    # kombu's Redis transport keeps a queue as a list under the global key prefix.
    return get_redis().llen(app.config["REDIS_KEY_PREFIX"] + queue)


def test_an_event_is_published_to_the_broker_after_commit(app, client, demo):
    sign(client)
    assert queued_messages(app, "transactional") == 1


def test_a_rolled_back_event_is_never_published(app, demo):
    events.record_event("signature.created", signature_id=1)
    db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(events.Event)) == 0
    assert queued_messages(app, "transactional") == 0


def test_dispatching_twice_sends_one_mail(app, client, demo, mailbox):
    sign(client)
    event_id = db.session.scalar(select(events.Event.id))
    with app.app_context():
        events.dispatch(event_id)
    with app.app_context():
        # A redelivered task finds the event already processed...
        events.dispatch(event_id)
        # ...and even if it had not been marked, the mail is claimed once per event.
        db.session.execute(events.Event.__table__.update().values(processed_at=None))
        db.session.commit()
        events.dispatch(event_id)
    assert len(mailbox.messages) == 1
    assert db.session.scalar(select(SentMail.status)) == "sent"


def test_the_relay_publishes_events_left_behind(app, client, demo, monkeypatch):
    monkeypatch.setattr(events, "publish", lambda pairs: False)  # the broker was down at commit
    sign(client)
    monkeypatch.undo()
    assert queued_messages(app, "transactional") == 0

    with app.app_context():
        assert events.relay() == 0  # too recent: the after-commit publish may still be under way
        db.session.execute(
            events.Event.__table__.update().values(created_at=utcnow() - timedelta(minutes=5))
        )
        db.session.commit()
        assert events.relay() == 1
        assert events.relay() == 0  # not again right away
    assert queued_messages(app, "transactional") == 1
    assert run_outbox(app) == 1
