"""`flask --app wsgi doctor`: one line per check, and a non-zero exit status when one fails."""

from __future__ import annotations

import re

from campaigns.core.tasks import QUEUES
from campaigns.operations.cli import doctor_cli
from tests.support import wait_until

LINE = re.compile(r"(OK|WARN|FAIL) +([^:]+): (.+)")


def doctor(app) -> tuple[int, dict[str, tuple[str, str]]]:
    result = app.test_cli_runner().invoke(doctor_cli)
    lines = result.output.splitlines()
    parsed = [LINE.fullmatch(line) for line in lines]
    assert all(parsed), result.output
    return result.exit_code, {m.group(2): (m.group(1), m.group(3)) for m in parsed}


def test_doctor_fails_while_no_worker_serves_the_queues(app, app_ctx):
    code, checks = doctor(app)

    assert code == 1
    assert checks["Database"][0] == "OK"
    assert checks["Redis"] == ("OK", "answers")
    assert checks["Workers on queue transactional"] == (
        "FAIL",
        "none seen in the last minute: its tasks wait",
    )
    assert checks["Beat (the scheduler)"] == ("FAIL", "no tick seen")
    assert checks["Outbox"] == ("OK", "no event waiting")


def test_doctor_passes_with_a_worker_and_beat_running(app, app_ctx, start_worker, start_beat):
    worker = start_worker()
    start_beat()

    _code, checks = wait_until(lambda: (found := doctor(app))[0] == 0 and found, timeout=60)

    assert {state for state, _detail in checks.values()} == {"OK"}
    for queue in QUEUES:
        assert worker.name in checks[f"Workers on queue {queue}"][1]
    assert len(checks) == 2 + 2 * len(QUEUES) + 4  # readiness, per queue, the others


def test_doctor_fails_when_redis_is_down(other_app):
    from campaigns.devstack.mailcatcher.server import free_port

    app = other_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        code, checks = doctor(app)

    assert code == 1
    assert checks["Redis"][0] == "FAIL"
    assert checks["Database"][0] == "OK"
    assert checks["Workers"] == ("FAIL", "Redis unreachable (ConnectionError)")
    assert checks["Outbox"] == ("OK", "no event waiting")  # read from the database


def test_doctor_exits_zero_when_the_worst_is_a_warning(app, app_ctx):
    import time
    from datetime import timedelta

    from sqlalchemy import update

    from campaigns.core import events
    from campaigns.core.db import utcnow
    from campaigns.core.redis import get_redis
    from campaigns.extensions import db
    from campaigns.operations import heartbeats

    # A worker on every queue and beat, as their heartbeats say (written as they write them).
    client, prefix = get_redis(), app.config["REDIS_KEY_PREFIX"]
    heartbeats.record_worker(client, prefix, QUEUES, "all@host", time.time())
    heartbeats.record_beat_tick(client, prefix, time.time(), 5)
    # An event waiting for 10 minutes: slow, not broken.
    event_id = events.record_event("campaign.launched", campaign_id=1, staff_user_id=1)
    db.session.commit()
    db.session.execute(
        update(events.Event)
        .where(events.Event.id == event_id)
        .values(created_at=utcnow() - timedelta(minutes=10))
    )
    db.session.commit()
    client.delete(*(prefix + queue for queue in QUEUES))  # its task, published on commit

    code, checks = doctor(app)

    assert checks["Outbox"] == ("WARN", "1 event waiting, the oldest for 10 minutes")
    assert {state for name, (state, _d) in checks.items() if name != "Outbox"} == {"OK"}
    assert code == 0
