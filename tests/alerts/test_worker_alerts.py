"""Alerts through real Celery worker processes and a real SMTP sink: from the Launch button to
the contacts' mailboxes, once each; and a worker killed (-9) mid-send loses no alert and
doubles none, once beat's safety net runs."""

from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import func, select

from campaigns.alerts.models import Alert, AlertEmail, Channel, Topic
from campaigns.extensions import db
from campaigns.webhooks.models import WebhookDelivery
from tests.alerts.conftest import set_contacts, subscribe
from tests.campaign.conftest import campaign_by_slug, create, post
from tests.support import unprocessed_events, wait_until

pytestmark = pytest.mark.e2e


def launch(client) -> None:
    assert create(client, status="ready").status_code == 303
    campaign = campaign_by_slug()
    response = post(client, f"/staff/campaigns/{campaign.id}/launch", confirmed="yes")
    assert response.status_code == 303


def pending_emails() -> int:
    db.session.rollback()  # the workers commit in other processes
    return db.session.scalar(
        select(func.count()).select_from(AlertEmail).where(AlertEmail.status == "pending")
    )


def test_from_launch_to_the_contacts_mailboxes(app, campaigner, subscribed, mailbox, start_worker):
    subscribed(Topic.CAMPAIGN_LAUNCHED)
    worker = start_worker()
    launch(campaigner)

    mailbox.wait_for(3)
    wait_until(lambda: unprocessed_events() == 0 and pending_emails() == 0)
    wait_until(worker.is_idle)  # a duplicate would have arrived by now
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "alice@asud.example.org",
        "bruno@asud.example.org",
        "jana@jes.example.org",
    ]
    assert [m["Content-Language"] for m in mailbox.to("jana@jes.example.org")] == ["de"]
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 2
    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    assert delivery.event_type == "campaign.launched"


def test_a_worker_killed_mid_send_loses_and_doubles_no_alert(
    app, campaigner, demo, mailbox, start_worker
):
    contacts = [f"contact{i}@asud.example.org" for i in range(5)]
    set_contacts("asud", *contacts)
    subscribe("asud", Topic.CAMPAIGN_LAUNCHED, Channel.EMAIL)

    mailbox.rcpt_delay = 0.4  # a slow mail server, so the kill lands mid-send
    doomed = start_worker(concurrency=1)
    launch(campaigner)
    wait_until(
        lambda: len(mailbox.messages) >= 1 and mailbox.in_transaction.is_set(),
        timeout=30,
        interval=0.01,
    )
    os.killpg(doomed.process.pid, signal.SIGKILL)  # the main process and its pool, at once
    doomed.process.wait()
    sent_before_kill = len(mailbox.messages)
    assert sent_before_kill < len(contacts)
    assert pending_emails() > 0

    mailbox.rcpt_delay = 0.0
    worker = start_worker()
    celery_app = app.extensions["celery"]

    def beat() -> None:  # what beat does every minute, here every second
        celery_app.send_task("alerts.send_pending")

    wait_until(lambda: pending_emails() == 0, timeout=60, interval=1.0, every=beat)
    wait_until(worker.is_idle)  # a duplicate would have arrived by now
    assert sorted(str(m["To"]) for m in mailbox.messages) == contacts
    assert {e.status for e in db.session.scalars(select(AlertEmail))} == {"sent"}
