"""A mailing sent by real Celery workers survives a worker killed mid-batch and two beats ticking
at once: every recipient has the mailing exactly once."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.mailings import lifecycle
from campaigns.mailings.models import Mailing, MailingStatus
from tests.mailings.conftest import add_supporter, make_mailing
from tests.support import commit_change, wait_until

pytestmark = pytest.mark.e2e

WORKER_SETTINGS = {
    "MAILING_BATCH_SIZE": "5",
    "MAILING_RATE_PER_SECOND": "1000",
    "MAILING_TICK_INTERVAL": "1",
    "MAILING_CLAIM_LEASE": "2",
}


def beat(app) -> None:
    """What beat's `mailings.tick` does."""
    from workers.mailings import tick

    with app.app_context():
        tick()


def mailing_status(mailing_id: int) -> MailingStatus:
    db.session.rollback()
    return db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id))


def scheduled_mailing(app, monkeypatch, name: str, count: int) -> tuple[list[str], Mailing]:
    """`count` supporters and a mailing to them, due now; the test's app set as the workers."""
    for key, value in WORKER_SETTINGS.items():
        monkeypatch.setitem(app.config, key, type(app.config[key])(value))
    addresses = [f"{name}{n}@example.org" for n in range(count)]
    for address in addresses:
        add_supporter("naloxone-in-every-pocket", address)
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    return addresses, mailing


def test_a_worker_killed_mid_batch_then_restarted_sends_everyone_exactly_once(
    app, demo, mailbox, start_worker, monkeypatch
):
    addresses, mailing = scheduled_mailing(app, monkeypatch, "reader", 24)

    mailbox.rcpt_delay = 0.2  # a slow server, so the kill lands in the middle of a send
    doomed = start_worker(concurrency=1, **WORKER_SETTINGS)
    beat(app)
    wait_until(
        lambda: len(mailbox.messages) >= 6 and mailbox.in_transaction.is_set(),
        timeout=60,
        interval=0.01,
    )
    os.killpg(doomed.process.pid, signal.SIGKILL)
    doomed.process.wait()
    assert len(mailbox.messages) < len(addresses)

    mailbox.rcpt_delay = 0.0
    worker = start_worker(**WORKER_SETTINGS)
    wait_until(
        lambda: mailing_status(mailing.id) == MailingStatus.SENT,
        timeout=90,
        interval=0.5,
        every=lambda: beat(app),
    )
    wait_until(worker.is_idle)  # a duplicate would have arrived by now
    assert sorted(str(m["To"]) for m in mailbox.messages) == sorted(addresses)


def test_two_beats_ticking_together_send_everyone_exactly_once(
    app, demo, mailbox, start_worker, monkeypatch
):
    addresses, mailing = scheduled_mailing(app, monkeypatch, "twice", 20)
    worker = start_worker(**WORKER_SETTINGS)

    stop = threading.Event()
    together = threading.Barrier(2)  # each round, both beats tick at the same moment
    errors: list[BaseException] = []

    def keep_ticking() -> None:
        while True:
            try:
                together.wait()
            except threading.BrokenBarrierError:  # stopped
                return
            try:
                beat(app)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            stop.wait(0.1)  # beat's pace, not a synchronisation

    beats = [threading.Thread(target=keep_ticking) for _ in range(2)]
    for thread in beats:
        thread.start()
    try:
        wait_until(lambda: mailing_status(mailing.id) == MailingStatus.SENT, timeout=90)
    finally:
        stop.set()
        together.abort()
        for thread in beats:
            thread.join()
    wait_until(worker.is_idle)  # a duplicate would have arrived by now
    assert errors == []
    assert sorted(str(m["To"]) for m in mailbox.messages) == sorted(addresses)
