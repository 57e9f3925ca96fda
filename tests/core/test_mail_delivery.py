"""SMTP trouble: a busy server (4xx) is retried with backoff, a refusal (5xx) is never retried."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.core import events
from campaigns.core.mail import PermanentMailError, SentMail
from campaigns.extensions import db
from tests.support import dispatch, sign
from workers.events import dispatch_event


def only_event_id() -> str:
    return db.session.scalar(select(events.Event.id))


def test_a_busy_server_gets_the_mail_on_a_later_try(app, client, demo, mailbox):
    import smtplib

    sign(client)
    event_id = only_event_id()
    mailbox.reply = "421 4.3.2 Service not available, try later"
    with app.app_context(), pytest.raises(smtplib.SMTPException):
        dispatch(event_id)
    with app.app_context():
        claim = db.session.get(SentMail, f"confirm:{event_id}")
        assert claim.status == "sending"  # released for the retry, not marked sent
    assert mailbox.messages == []

    mailbox.reply = None
    with app.app_context():
        dispatch(event_id)
    assert len(mailbox.messages) == 1


def test_the_task_retries_transient_errors_with_growing_delays(
    app, client, demo, mailbox, monkeypatch
):
    sign(client)
    mailbox.reply = "421 try later"
    delays = []

    def fake_retry(*, exc, countdown):
        delays.append(countdown)
        return RuntimeError("retry scheduled")

    monkeypatch.setattr(dispatch_event, "retry", fake_retry)
    for attempt in range(3):
        dispatch_event.push_request(retries=attempt)
        try:
            with app.app_context(), pytest.raises(RuntimeError, match="retry scheduled"):
                dispatch_event.run(only_event_id())
        finally:
            dispatch_event.pop_request()
    assert delays == [5, 10, 20]


def test_a_refusal_is_recorded_and_never_retried(app, client, demo, mailbox):
    sign(client, email="nobody@example.org")
    event_id = only_event_id()
    mailbox.reply = "550 5.1.1 No such user"
    with app.app_context():
        dispatch(event_id)  # recorded, not raised: the other mails of a batch go on
    with app.app_context():
        sent = db.session.get(SentMail, f"confirm:{event_id}")
        assert sent.status == "failed"
        assert "550" in sent.error
        assert db.session.get(events.Event, event_id).processed_at is not None
    mailbox.reply = None
    with app.app_context():
        db.session.execute(events.Event.__table__.update().values(processed_at=None))
        db.session.commit()
        dispatch(event_id)
    assert mailbox.messages == []


def test_a_task_gives_up_on_a_mail_refused_by_send_once(app, client, demo, mailbox, monkeypatch):
    sign(client, email="nobody@example.org")
    event_id = only_event_id()

    def refuse(_event):
        raise PermanentMailError("550 No such user")

    monkeypatch.setattr(events, "_batch_handlers", {})
    monkeypatch.setitem(events._handlers, "signature.created", [refuse])
    with app.app_context():
        dispatch_event.run(event_id)  # the task gives up quietly and marks the event done
        assert db.session.get(events.Event, event_id).processed_at is not None


def test_a_worker_reuses_its_smtp_connection(app, client, demo, mailbox):
    from tests.support import run_outbox

    for i in range(3):
        sign(client, email=f"reuse{i}@example.org")
    run_outbox(app)
    assert len(mailbox.messages) == 3
    assert mailbox.sessions <= 1  # one handshake for all three (0 if still open from before)
