"""Confirmation mails in batches: one task sends every confirmation waiting, each exactly once."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, true, update

from campaigns.core import events, mail
from campaigns.core.db import utcnow
from campaigns.core.mail import SentMail
from campaigns.extensions import db
from tests.support import ManualClock, dispatch, run_outbox, sign


def sign_many(client, count: int) -> list[str]:
    emails = [f"batch{i}@example.org" for i in range(count)]
    for email in emails:
        assert sign(client, email=email).status_code == 303
    return emails


def event_ids() -> list[str]:
    return db.session.scalars(select(events.Event.id).order_by(events.Event.created_at)).all()


def recipients(mailbox) -> list[str]:
    return sorted(str(m["To"]) for m in mailbox.messages)


def test_one_task_sends_every_confirmation_waiting(app, client, demo, mailbox):
    emails = sign_many(client, 5)
    last = event_ids()[-1]
    with app.app_context():
        dispatch(last)
    assert recipients(mailbox) == sorted(emails)
    assert mailbox.sessions <= 1
    with app.app_context():
        assert (
            db.session.scalar(select(db.func.count()).where(events.Event.processed_at.is_(None)))
            == 0
        )
    assert run_outbox(app) == 0  # the other events' own tasks find nothing left to do


def test_a_mail_is_recorded_sent_in_the_transaction_that_marks_its_event_processed(
    app, client, demo, mailbox
):
    sign_many(client, 3)
    statements: list[str] = []

    def on_execute(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()[:3]))

    def on_commit(_conn) -> None:
        statements.append("COMMIT")

    with app.app_context():
        sa_event.listen(db.engine, "before_cursor_execute", on_execute)
        sa_event.listen(db.engine, "commit", on_commit)
        try:
            dispatch(event_ids()[0])
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", on_execute)
            sa_event.remove(db.engine, "commit", on_commit)
    transactions = " ".join(statements).split("COMMIT")
    claims = [t for t in transactions if "INSERT INTO sent_mails" in t]
    assert len(claims) == 1  # one claim for the whole batch
    finishes = [t for t in transactions if "UPDATE sent_mails" in t]
    assert len(finishes) == 3  # then each mail on its own, with its event
    assert all("UPDATE outbox_events" in t for t in finishes)


def test_a_batch_leaves_mails_another_worker_is_sending_and_takes_over_lapsed_claims(
    app, client, demo, mailbox
):
    sign_many(client, 3)
    busy, lapsed, own = event_ids()
    with app.app_context():
        now = utcnow()
        db.session.add_all(
            [
                SentMail(
                    key=f"confirm:{busy}",
                    template="petitions/confirm",
                    status="sending",
                    claimed_at=now,
                ),
                SentMail(
                    key=f"confirm:{lapsed}",
                    template="petitions/confirm",
                    status="sending",
                    claimed_at=now - timedelta(seconds=app.config["MAIL_CLAIM_LEASE"] + 1),
                ),
            ]
        )
        db.session.commit()
        dispatch(own)
    assert recipients(mailbox) == ["batch1@example.org", "batch2@example.org"]
    with app.app_context():
        assert db.session.get(events.Event, busy).processed_at is None
        # Its own task, while the other worker still holds the claim, sends nothing either.
        dispatch(busy)
    assert len(mailbox.messages) == 2


def test_a_transient_error_mid_batch_keeps_what_was_sent_and_the_retry_sends_the_rest(
    app, client, demo, mailbox, monkeypatch
):
    emails = sign_many(client, 5)
    own = event_ids()[-1]
    real_send = mail._smtp.send
    calls = []

    def drop_the_third(message):
        calls.append(message)
        if len(calls) == 3:
            raise smtplib.SMTPServerDisconnected("connection lost")
        return real_send(message)

    monkeypatch.setattr(mail._smtp, "send", drop_the_third)
    with app.app_context(), pytest.raises(smtplib.SMTPServerDisconnected):
        dispatch(own)
    assert len(mailbox.messages) == 2
    with app.app_context():
        statuses = db.session.scalars(select(SentMail.status).order_by(SentMail.key)).all()
        assert sorted(statuses) == ["sending"] * 3 + ["sent"] * 2  # the rest given back

    with app.app_context():
        dispatch(own)  # the task's retry: its own event went last, so it is still waiting
    assert recipients(mailbox) == sorted(emails)
    assert run_outbox(app) == 0


def test_a_refused_mail_does_not_stop_the_batch(app, client, demo, mailbox, monkeypatch):
    emails = sign_many(client, 3)
    real_send = mail._smtp.send

    def refuse_one(message):
        if message.to == "batch1@example.org":
            raise smtplib.SMTPDataError(550, b"5.1.1 No such user")
        return real_send(message)

    monkeypatch.setattr(mail._smtp, "send", refuse_one)
    with app.app_context():
        dispatch(event_ids()[0])
        assert db.session.get(SentMail, f"confirm:{event_ids()[1]}").status == "failed"
    assert recipients(mailbox) == [emails[0], emails[2]]
    assert run_outbox(app) == 0  # the refused one is done with too


def test_a_drain_that_finds_its_batch_taken_by_another_worker_leaves_it(
    app, client, demo, mailbox, monkeypatch
):
    """Between a drain's look for waiting mails and its claim, another worker may claim them:
    the batch then settled nothing, and the drain leaves them to that worker. It stops once it
    has looked for the doorbell's quiet period (see test_outbox), not at the end of its budget.
    The drain's clock passes only while it waits, so "how long it looked" is the same on any
    machine."""
    from campaigns.petitions import handlers

    clock = ManualClock()
    monkeypatch.setattr(events, "time", clock)
    sign_many(client, 2)
    with app.app_context():
        now = utcnow()
        db.session.add_all(
            SentMail(key=f"confirm:{event_id}", template="x", status="sending", claimed_at=now)
            for event_id in event_ids()
        )
        db.session.commit()
        # The look happened just before the other worker's claim: it still sees both mails.
        monkeypatch.setattr(handlers, "unclaimed", lambda _key: true())
        looks = []
        real_handler = handlers.send_confirmation_mails
        monkeypatch.setitem(
            events._batch_handlers,
            "signature.created",
            lambda *args: looks.append(1) or real_handler(*args),
        )
        started = clock.monotonic()
        assert events.drain("signature.created", budget=5) is False
    assert len(looks) >= 2
    assert events.DOORBELL_QUIET_SECONDS <= clock.monotonic() - started < 5
    assert mailbox.messages == []


def test_a_greylisted_recipient_waits_without_holding_up_the_others(app, client, demo, mailbox):
    emails = sign_many(client, 3)
    mailbox.rcpt_replies[emails[0]] = "450 4.2.0 Greylisted, try again in 5 minutes"
    with app.app_context():
        events.drain("signature.created", budget=5)
        # Another signature a moment later: its drain is not stopped by the oldest mail either.
        sign(client, email="later@example.org")
        events.drain("signature.created", budget=5)
    assert recipients(mailbox) == sorted([*emails[1:], "later@example.org"])
    with app.app_context():
        grey = db.session.get(SentMail, f"confirm:{event_ids()[0]}")
        assert grey.status == "sending"  # claimed until the lease lapses

        # The lease lapses; the server accepts the mail now.
        del mailbox.rcpt_replies[emails[0]]
        lease = timedelta(seconds=app.config["MAIL_CLAIM_LEASE"] + 1)
        db.session.execute(
            update(SentMail).where(SentMail.key == grey.key).values(claimed_at=utcnow() - lease)
        )
        db.session.commit()
        events.drain("signature.created", budget=5)
    assert recipients(mailbox) == sorted([*emails, "later@example.org"])
    assert run_outbox(app) == 0
