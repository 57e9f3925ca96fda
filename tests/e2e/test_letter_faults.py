"""Letters delivered by real Celery workers survive a worker killed mid-send and two beats ticking
at once: every letter reaches its target exactly once."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.lobbying.models import LetterDelivery, LetterDeliveryStatus
from tests.lobbying.conftest import action, directory  # noqa: F401 - fixtures
from tests.lobbying.test_pacing import confirmed_letters
from tests.support import wait_until

pytestmark = pytest.mark.e2e

WORKER_SETTINGS = {
    "LOBBYING_OFFICE_HOURS": "Mon-Sun 00:00-24:00",
    "LOBBYING_JITTER": "0",
    "LOBBYING_PER_TARGET_PER_HOUR": "36000",  # one letter per target every 0.1 s
    "LOBBYING_CLAIM_LEASE": "2",
    "MAIL_CLAIM_LEASE": "1",  # shorter than the letter's lease, as in production
}


def beat(app) -> None:
    """What beat's `lobbying.tick` does, in this process: a second beat beside the worker's."""
    from workers.lobbying import tick

    with app.app_context():
        tick()


def waiting() -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count())
        .select_from(LetterDelivery)
        .where(LetterDelivery.status != LetterDeliveryStatus.SENT)
    )


def test_a_worker_killed_mid_send_then_two_beats_deliver_each_letter_once(
    app,
    action,  # noqa: F811
    directory,  # noqa: F811
    mailbox,
    start_worker,
    monkeypatch,
):
    for key, value in WORKER_SETTINGS.items():
        monkeypatch.setitem(app.config, key, type(app.config[key])(value))
    targets = [t for t in directory.values() if t.active]
    confirmed_letters(action, targets, 4)  # 24 letters, 4 to each of 6 targets

    mailbox.rcpt_delay = 0.2  # a slow server, so the kill lands in the middle of a send
    doomed = start_worker(concurrency=1, **WORKER_SETTINGS)
    app.extensions["celery"].send_task("lobbying.tick")
    wait_until(
        lambda: len(mailbox.messages) >= 3 and mailbox.in_transaction.is_set(),
        timeout=60,
        interval=0.01,
    )
    os.killpg(doomed.process.pid, signal.SIGKILL)
    doomed.process.wait()
    assert len(mailbox.messages) < 24

    mailbox.rcpt_delay = 0.0
    worker = start_worker(**WORKER_SETTINGS)
    celery = app.extensions["celery"]
    wait_until(
        lambda: waiting() == 0,
        timeout=90,
        interval=0.5,
        every=lambda: (celery.send_task("lobbying.tick"), beat(app)),
    )
    wait_until(worker.is_idle)  # a duplicate would have arrived by now
    letters = [m for m in mailbox.messages if m["X-Original-To"]]  # not the supporters' receipts
    sent = Counter((m["X-Original-To"], m["Reply-To"]) for m in letters)
    assert len(sent) == 24
    assert set(sent.values()) == {1}
