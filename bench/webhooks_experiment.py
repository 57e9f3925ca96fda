"""Experiments of `python -m bench.webhooks`, not the platform's code: the Celery app of
celery_worker.py, changed in the benchmark's worker and beat processes only (they run
`celery -A bench.webhooks_experiment` then). Each models a change proposed in bench/RESULTS.md.

- `--webhook-worker 0` (BENCH_WEBHOOKS_ON_DEFAULT=1): the two webhook tasks on `default`, as
  before they had a queue of their own, sharing the processes of events and supporters' mail.
- `--handover` (BENCH_WEBHOOK_HANDOVER=1): one claimer at a time. A send_due that finds another
  one claiming returns at once (the claimer looks for new work every 0.25 s anyway); the claimer
  hands over when its budget runs out, publishing a new send_due before it waits for its last
  requests, so that there is no stretch of up to WEBHOOK_TIMEOUT in which nobody claims.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from flask import current_app

from celery_worker import celery_app, flask_app

if os.environ.get("BENCH_WEBHOOKS_ON_DEFAULT"):
    # As before the `webhooks` queue existed: the webhook tasks on `default`.
    celery_app.conf.task_routes = {
        name: route
        for name, route in (celery_app.conf.task_routes or {}).items()
        if not name.startswith("webhooks.")
    }
celery = celery_app  # what `celery -A bench.webhooks_experiment` looks for
__all__ = ["celery", "flask_app"]


def send_handing_over(budget: float) -> None:
    """delivery.send_due's loop (the same claim, requests and records) behind a claimer lock
    that is released, and a successor published, as soon as this run stops claiming."""
    from campaigns.core.redis import get_redis, key
    from campaigns.webhooks import delivery, http
    from campaigns.webhooks.outgoing import publish_send_due

    redis = get_redis()
    lock, token = key("webhooks-claimer"), uuid.uuid4().hex
    if not redis.set(lock, token, nx=True, ex=int(budget) + 10):
        return  # the claimer takes what this task was published for

    def hand_over() -> None:
        if redis.get(lock) in (token, token.encode()):
            redis.delete(lock)

    limits = http.Limits.from_config(current_app.config)
    concurrency = max(1, int(current_app.config["WEBHOOK_CONCURRENCY"]))
    stop_claiming_at = time.monotonic() + budget
    report = delivery.SendReport()
    in_flight: dict[Future, delivery.Outgoing] = {}
    claiming = True
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")
    try:
        while True:
            if claiming and time.monotonic() >= stop_claiming_at:
                claiming = False
                hand_over()
                publish_send_due()  # the successor claims while this run finishes
            room = concurrency - len(in_flight)
            if claiming and room > 0:
                for outgoing in delivery.claim(room):
                    in_flight[pool.submit(delivery._attempt, outgoing, limits)] = outgoing
            if not in_flight:
                break
            done, _pending = wait(
                in_flight, timeout=delivery.POLL_SECONDS, return_when=FIRST_COMPLETED
            )
            for future in done:
                attempted_at, result = future.result()
                delivery.record(in_flight.pop(future), attempted_at, result, report)
    finally:
        if claiming:
            hand_over()
            # Work committed after the last look: its send_due found the lock taken.
            if _anything_due():
                publish_send_due()
        pool.shutdown(wait=not in_flight, cancel_futures=True)


def _anything_due() -> bool:
    from sqlalchemy import exists, select

    from campaigns.core.db import utcnow
    from campaigns.extensions import db
    from campaigns.webhooks import delivery

    return bool(db.session.scalar(select(exists().where(delivery._due(utcnow())))))


if os.environ.get("BENCH_WEBHOOK_HANDOVER") == "1":
    import workers.webhooks

    workers.webhooks._send = send_handing_over
