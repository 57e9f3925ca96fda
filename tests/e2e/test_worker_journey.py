"""The signing journey through a real Celery worker process and a real SMTP sink."""

from __future__ import annotations

import pytest

from tests.support import confirm_by_link, links_in, sign, unprocessed_events, wait_until

pytestmark = pytest.mark.e2e


def test_a_worker_sends_the_confirmation_and_the_count_goes_up(
    app, client, demo, mailbox, start_worker
):
    worker = start_worker()
    sign(client, email="worker@example.org", country="IE")

    [message] = mailbox.wait_for(1)
    confirm = next(link for link in links_in(message) if "/confirm/" in link)
    confirm_by_link(client, confirm)

    counts = wait_until(
        lambda: (
            (r := client.get("/api/v1/petitions/naloxone-in-every-pocket/counts").json)["total"]
            == 1
            and r
        )
    )
    assert counts["by_country"] == {"IE": 1}
    # Every event was handled by the worker, and it has nothing left to do: one mail in all.
    wait_until(lambda: unprocessed_events() == 0)
    wait_until(worker.is_idle)
    assert len(mailbox.messages) == 1
