"""Faults: a worker killed mid-batch, Redis gone while people sign. Nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.petitions.models import Signature, SignatureStatus
from tests.support import (
    EmbeddedRedis,
    confirm_by_link,
    links_in,
    relay,
    sign,
    unprocessed_events,
    wait_until,
)

pytestmark = pytest.mark.e2e


def relay_now(app) -> None:
    """What beat's `outbox.relay` does, with no grace period."""
    with app.app_context():
        relay()


def confirm_all(client, mailbox, emails: list[str]) -> None:
    for email in emails:
        [message] = mailbox.to(email)
        confirm = next(link for link in links_in(message) if "/confirm/" in link)
        assert confirm_by_link(client, confirm).status_code == 303


def confirmed_count() -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count())
        .select_from(Signature)
        .where(Signature.status == SignatureStatus.CONFIRMED)
    )


def test_a_worker_killed_mid_batch_loses_and_doubles_no_confirmation(
    app, client, demo, mailbox, start_worker
):
    emails = [f"batch{i}@example.org" for i in range(20)]
    for email in emails:
        assert sign(client, email=email).status_code == 303

    mailbox.rcpt_delay = 0.3  # a slow mail server, so the kill lands mid-send
    doomed = start_worker(concurrency=1)
    wait_until(
        lambda: len(mailbox.messages) >= 4 and mailbox.in_transaction.is_set(),
        timeout=30,
        interval=0.01,
    )
    os.killpg(doomed.process.pid, signal.SIGKILL)  # the main process and its pool, at once
    doomed.process.wait()
    sent_before_kill = len(mailbox.messages)
    assert sent_before_kill < len(emails)

    mailbox.rcpt_delay = 0.0
    worker = start_worker()
    app.config["OUTBOX_RELAY_GRACE"] = 0
    try:
        wait_until(lambda: unprocessed_events() == 0, every=lambda: relay_now(app))
    finally:
        app.config["OUTBOX_RELAY_GRACE"] = 60
    wait_until(worker.is_idle)  # a duplicate would have arrived by now

    assert sorted(str(m["To"]) for m in mailbox.messages) == sorted(emails)
    confirm_all(client, mailbox, emails)
    assert confirmed_count() == len(emails)


def test_signatures_made_while_redis_is_down_are_kept_and_confirmed_once(
    app, demo, mailbox, start_worker, other_app, tmp_path
):
    redis_server = EmbeddedRedis(tmp_path / "redis")
    faulty = other_app(REDIS_URL=redis_server.url, REDIS_KEY_PREFIX="fault:", OUTBOX_RELAY_GRACE=0)
    client = faulty.test_client()
    try:
        assert sign(client, email="before@example.org").status_code == 303

        redis_server.stop()
        during = [f"during{i}@example.org" for i in range(4)]
        for email in during:
            started = time.monotonic()
            response = sign(client, email=email)
            assert response.status_code == 303, response.get_data(as_text=True)
            assert time.monotonic() - started < 5
            assert client.get(response.location).status_code == 200  # "check your email"
        page = client.get("/en/c/naloxone-in-every-pocket")
        assert page.status_code == 200

        # Redis comes back (empty: it kept nothing on disk); a worker starts; beat relays.
        redis_server = EmbeddedRedis(tmp_path / "redis", port=redis_server.port)
        worker = start_worker(REDIS_URL=redis_server.url, REDIS_KEY_PREFIX="fault:")
        wait_until(lambda: unprocessed_events() == 0, every=lambda: relay_now(faulty))
        wait_until(worker.is_idle)  # a duplicate would have arrived by now

        emails = ["before@example.org", *during]
        assert sorted(str(m["To"]) for m in mailbox.messages) == sorted(emails)
        confirm_all(client, mailbox, emails)
        assert confirmed_count() == len(emails)
        assert client.get("/api/v1/petitions/naloxone-in-every-pocket/counts").json["total"] == len(
            emails
        )
    finally:
        redis_server.stop()
