"""A sending worker killed -9 at the worst moments: while its "sent" mark is on its way to the
database, and once the mark is committed. The mailing stays at most once, and the first kill
loses nothing (core.sent_marks)."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from campaigns.core import sent_marks
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.mailings import batches, lifecycle
from campaigns.mailings.models import Delivery, DeliveryStatus
from tests.mailings.conftest import make_mailing
from tests.support import commit_change, start_due_mailings

VICTIM = "victim@example.org"


def send_batch_in_a_child_killed(app, mailing_id: int, when: str) -> None:
    """Send a batch in a forked process that kills itself -9 at the message to VICTIM: "after the
    update" (the mark's UPDATE has run on the database, nothing committed yet: the kill PostgreSQL
    outlives when it lands during the statement) or "before the dot" (the mark is committed)."""
    pid = os.fork()
    if pid == 0:  # the child: a sending worker
        try:
            db.engine.dispose(close=False)  # the parent's connections stay the parent's
            original_mark = sent_marks.SentMarks.mark

            def mark(self, params, write_dot):
                to_victim = params["b_delivery"] == victim_delivery_id()
                if to_victim and when == "after the update":
                    self.connection.execute(self.statement, params)
                    os.kill(os.getpid(), signal.SIGKILL)

                def write_dot_or_die() -> None:
                    if to_victim:
                        os.kill(os.getpid(), signal.SIGKILL)
                    write_dot()

                return original_mark(self, params, write_dot_or_die)

            sent_marks.SentMarks.mark = mark
            with app.app_context():
                batches.send_batch(mailing_id)
        finally:
            os._exit(3)  # never reached by a killed child; never let it run the parent's tests
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    assert os.WTERMSIG(status) == signal.SIGKILL


def victim_delivery_id() -> int:
    return db.session.scalar(select(Delivery.id).where(Delivery.email == VICTIM))


def status_of(address: str) -> DeliveryStatus:
    db.session.rollback()
    return db.session.scalar(select(Delivery.status).where(Delivery.email == address))


def send_the_rest(mailing_id: int) -> None:
    """Run batches until the mailing is done, as the workers' chain of batch tasks does."""
    for _ in range(100):
        result = batches.send_batch(mailing_id)
        if result.finished or not (result.more or result.released):
            return


def lapse_claims() -> None:
    """Let the dead worker's claims lapse, as MAILING_CLAIM_LEASE seconds would."""
    db.session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING)
        .values(claimed_at=utcnow() - timedelta(days=1))
    )
    db.session.commit()
    lifecycle.release_stale_claims()
    db.session.commit()


@pytest.fixture
def mailing(app, supporter, monkeypatch):
    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 1000)
    for address in ("before@example.org", VICTIM, "after@example.org"):
        supporter("naloxone-in-every-pocket", address)
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    assert start_due_mailings() == [mailing.id]
    return mailing


def test_killed_while_the_mark_is_on_its_way_the_message_goes_later_once(app, mailing, mailbox):
    send_batch_in_a_child_killed(app, mailing.id, "after the update")
    # The database rolled the dead worker's mark back; the server got no final dot.
    assert status_of(VICTIM) == DeliveryStatus.SENDING
    assert mailbox.to(VICTIM) == []

    lapse_claims()
    send_the_rest(mailing.id)
    assert len(mailbox.to(VICTIM)) == 1
    assert sorted(str(m["To"]) for m in mailbox.messages) == sorted(
        ["before@example.org", VICTIM, "after@example.org"]
    )


def test_killed_after_the_mark_is_committed_the_message_is_never_sent_twice(app, mailing, mailbox):
    send_batch_in_a_child_killed(app, mailing.id, "before the dot")
    assert status_of(VICTIM) == DeliveryStatus.SENT  # counted as sent: at most once

    lapse_claims()
    send_the_rest(mailing.id)
    assert mailbox.to(VICTIM) == []  # the one message a kill in this instant costs
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "after@example.org",
        "before@example.org",
    ]
