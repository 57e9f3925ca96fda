"""Beat's ticks and the workers' heartbeats, from real processes: `celery beat` with the
scheduler celery_worker.py installs, and a real worker."""

from __future__ import annotations

import time

from campaigns.core.redis import get_redis
from campaigns.operations import heartbeats
from campaigns.operations.checks import check_beat
from tests.operations.test_status_page import status
from tests.support import wait_until


def test_a_running_beat_is_seen_ticking(admin_browser, start_beat):
    beat = start_beat()

    rows = wait_until(
        lambda: (found := status(admin_browser))["Beat (the scheduler)"][0] == "OK" and found,
        timeout=60,
    )
    assert rows["Beat (the scheduler)"][1].startswith("last tick ")
    assert "RecordingScheduler" in beat.log_path.read_text()  # the scheduler beat says it runs


def test_a_late_beat_is_a_warning_then_a_failure(app_ctx):
    client, prefix = get_redis(), app_ctx.config["REDIS_KEY_PREFIX"]
    now = time.time()

    # Ticked 40 s ago meaning to sleep 5 s: 35 s late.
    heartbeats.record_beat_tick(client, prefix, now - 40, 5)
    [result] = check_beat(client, prefix, now)
    assert (result.state_label, result.detail) == (
        "Warning",
        "last tick 40 seconds ago, 35 seconds late",
    )
    # Nothing due for an hour: quiet, not late.
    heartbeats.record_beat_tick(client, prefix, now - 600, 3600)
    assert check_beat(client, prefix, now)[0].state_label == "OK"
    heartbeats.record_beat_tick(client, prefix, now - 600, 5)
    [result] = check_beat(client, prefix, now)
    assert (result.state_label, result.detail) == (
        "Failing",
        "last tick 10 minutes ago, 10 minutes late",
    )


def test_a_worker_that_stopped_beating_drops_out_after_a_minute(app_ctx):
    client, prefix = get_redis(), app_ctx.config["REDIS_KEY_PREFIX"]
    now = time.time()
    heartbeats.record_worker(client, prefix, ["bulk"], "bulk@old", now - 61)
    heartbeats.record_worker(client, prefix, ["bulk", "default"], "bulk@new", now - 10)

    assert heartbeats.workers_seen(client, prefix, ["bulk", "default", "webhooks"], now) == {
        "bulk": ["bulk@new"],
        "default": ["bulk@new"],
        "webhooks": [],
    }
