"""The staff status page, as an administrator reads it: each check in words (OK, Warning,
Failing) with the figures behind it, from real workers, the real broker and the database."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from campaigns.core import events
from campaigns.core.db import utcnow
from campaigns.core.tasks import QUEUES
from campaigns.extensions import db
from campaigns.lobbying.models import Letter, LetterDelivery, LetterDeliveryStatus, LetterStatus
from campaigns.mailings.models import Delivery, DeliveryStatus, MailingStatus
from tests.lobbying.conftest import action, directory  # noqa: F401 - fixtures
from tests.mailings.conftest import make_mailing
from tests.operations.conftest import status_rows
from tests.support import wait_until


def status(browser) -> dict[str, tuple[str, str]]:
    response = browser.get("/staff/status")
    assert response.status_code == 200
    return status_rows(response.get_data(as_text=True))


def test_without_workers_or_beat_the_page_says_what_fails(admin_browser):
    response = admin_browser.get("/staff/status")
    page = response.get_data(as_text=True)

    assert response.headers["Cache-Control"] == "no-store"
    assert "<h1>System status</h1>" in page
    assert '<a href="/staff/status" aria-current="page">System status</a>' in page
    assert "<strong>Overall: Failing</strong>" in page
    rows = status_rows(page)
    assert rows["Database"][0] == "OK"
    assert rows["Redis"] == ("OK", "answers")
    for queue in QUEUES:
        assert rows[f"Workers on queue {queue}"] == (
            "Failing",
            "none seen in the last minute: its tasks wait",
        )
        assert rows[f"Queue {queue}"] == ("OK", "0 messages waiting")
    assert rows["Beat (the scheduler)"] == ("Failing", "no tick seen")
    assert rows["Outbox"] == ("OK", "no event waiting")
    assert rows["Mailings in progress"] == ("OK", "0 sending (0 recipients to go), 0 paused")
    assert rows["Letters in progress"] == ("OK", "0 due, 0 being sent")


def test_only_administrators_have_the_page(make_staff, staff_login, client):
    browser = staff_login(make_staff("campaigner"))
    assert browser.get("/staff/status").status_code == 403
    assert "System status" not in browser.get("/staff/").get_data(as_text=True)


def test_a_running_worker_is_listed_on_its_queues_until_it_stops(admin_browser, start_worker):
    worker = start_worker()

    rows = wait_until(
        lambda: (
            (found := status(admin_browser))[f"Workers on queue {QUEUES[-1]}"][0] == "OK" and found
        )
    )
    for queue in QUEUES:
        assert rows[f"Workers on queue {queue}"] == (
            "OK",
            f"1 seen in the last minute: {worker.name}",
        )
    worker.stop()
    rows = status(admin_browser)
    assert rows[f"Workers on queue {QUEUES[0]}"][0] == "Failing"


def test_queue_depths_and_the_outbox_backlog(app, admin_browser, app_ctx):
    for _ in range(3):
        app.extensions["celery"].send_task("tallies.reconcile")  # no worker takes them
    event_id = events.record_event("campaign.launched", campaign_id=1, staff_user_id=1)
    db.session.commit()  # published too: its events.dispatch waits on `default`

    def age(minutes: int) -> None:
        db.session.execute(
            update(events.Event)
            .where(events.Event.id == event_id)
            .values(created_at=utcnow() - timedelta(minutes=minutes, seconds=5))
        )
        db.session.commit()

    rows = status(admin_browser)
    assert rows["Queue default"] == ("OK", "4 messages waiting")
    assert rows["Queue transactional"] == ("OK", "0 messages waiting")
    assert rows["Outbox"][0] == "OK"
    assert re.fullmatch(r"1 event waiting, the oldest for \d+ seconds?", rows["Outbox"][1])
    age(10)  # past the relay's grace and interval (75 s): something is slow
    assert status(admin_browser)["Outbox"] == (
        "Warning",
        "1 event waiting, the oldest for 10 minutes",
    )
    age(20)  # ten times that: something is broken
    assert status(admin_browser)["Outbox"] == (
        "Failing",
        "1 event waiting, the oldest for 20 minutes",
    )


def test_a_long_queue_is_a_warning(admin_browser, app_ctx):
    from campaigns.core.redis import get_redis

    broker_list = app_ctx.config["REDIS_KEY_PREFIX"] + "bulk"
    get_redis().rpush(broker_list, *["{}"] * 999)  # stand-ins: only their number is read
    assert status(admin_browser)["Queue bulk"] == ("OK", "999 messages waiting")
    get_redis().rpush(broker_list, "{}")
    assert status(admin_browser)["Queue bulk"] == ("Warning", "1,000 messages waiting")


def test_mailings_in_progress_and_claims_left_by_a_dead_worker(admin_browser, demo):
    sending = make_mailing(status=MailingStatus.SENDING)
    make_mailing(status=MailingStatus.PAUSED)
    now = utcnow()
    db.session.add_all(
        [Delivery(mailing_id=sending.id, email=f"r{n}@example.org", locale="en") for n in range(3)]
        + [
            Delivery(
                mailing_id=sending.id,
                email="sent@example.org",
                locale="en",
                status=DeliveryStatus.SENT,
            ),
            Delivery(
                mailing_id=sending.id,
                email="claimed@example.org",
                locale="en",
                status=DeliveryStatus.SENDING,
                claimed_at=now,
            ),
        ]
    )
    db.session.commit()
    assert status(admin_browser)["Mailings in progress"] == (
        "OK",
        "1 sending (4 recipients to go), 1 paused",
    )
    # The worker that claimed it died: its claim outlived MAILING_CLAIM_LEASE.
    db.session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING)
        .values(claimed_at=now - timedelta(hours=1))
    )
    db.session.commit()
    assert status(admin_browser)["Mailings in progress"] == (
        "Warning",
        "1 sending (4 recipients to go), 1 paused; 1 recipients claimed by a worker that "
        "stopped (beat hands them back)",
    )


def test_letters_due_overdue_and_stuck(admin_browser, action, directory):  # noqa: F811
    now = utcnow()
    targets = {name: target.id for name, target in directory.items()}
    letter = Letter(action_id=action.id, status=LetterStatus.CONFIRMED, country="FR", locale="en")
    db.session.add(letter)
    db.session.flush()
    letter_id = letter.id

    def deliver(target: str, status: LetterDeliveryStatus, **fields) -> None:
        db.session.add(
            LetterDelivery(letter_id=letter_id, target_id=targets[target], status=status, **fields)
        )
        db.session.commit()

    def change(target: str, **values) -> None:
        db.session.execute(
            update(LetterDelivery)
            .where(LetterDelivery.target_id == targets[target])
            .values(**values)
        )
        db.session.commit()

    deliver("claire", LetterDeliveryStatus.SCHEDULED, due_at=now - timedelta(seconds=5))
    deliver("marc", LetterDeliveryStatus.SCHEDULED, due_at=now + timedelta(hours=1))  # not yet
    deliver("sophie", LetterDeliveryStatus.SENDING, claimed_at=now)
    deliver("paul", LetterDeliveryStatus.SENT, sent_at=now)
    assert status(admin_browser)["Letters in progress"] == ("OK", "1 due, 1 being sent")

    deliver("jonas", LetterDeliveryStatus.SCHEDULED, due_at=now - timedelta(hours=1))
    assert status(admin_browser)["Letters in progress"] == (
        "Warning",
        "2 due, 1 being sent; 1 due for more than 15 minutes",
    )
    change("jonas", status=LetterDeliveryStatus.SENT)
    # The worker that claimed Sophie's letter died: its claim outlived LOBBYING_CLAIM_LEASE.
    change("sophie", claimed_at=now - timedelta(hours=1))
    assert status(admin_browser)["Letters in progress"] == (
        "Warning",
        "1 due, 1 being sent; 1 claimed by a worker that stopped (beat hands them back)",
    )
