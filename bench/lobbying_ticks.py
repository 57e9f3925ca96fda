"""The lobbying benchmark's in-process timings: `delivery.schedule_letter` on a sample of
letters (checked against the bulk schedule), the tick while all letters wait, and PostgreSQL's
plan of the claim query."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from bench.lobbying_data import (
    Directory,
    analyze,
    insert_rows,
    make_letters,
    pacing,
    reset,
    schedule,
)
from bench.mailing import sql_text
from bench.procs import BenchError

if TYPE_CHECKING:
    from flask import Flask


# -- schedule_letter itself, on a sample --------------------------------------------------------


def check_schedule_letter(app: Flask, found: Directory, count: int) -> dict[str, float]:
    """Schedule `count` letters with `delivery.schedule_letter`, one at a time and committed as
    the `letter.confirmed` handler does, timed; then check that `schedule()` (the bulk load)
    gives exactly the same times (jitter 0, so both are deterministic)."""
    from sqlalchemy import select

    from campaigns.core.db import utcnow
    from campaigns.extensions import db
    from campaigns.lobbying.delivery import schedule_letter
    from campaigns.lobbying.models import Letter, LetterDelivery, LetterDeliveryStatus

    reset(app)
    letters = make_letters(found, count, first_id=1, tag="check")
    base = utcnow()
    confirmed = [base + timedelta(seconds=2 * n) for n in range(count)]
    insert_rows(app, Letter, letters.rows)
    awaiting = [
        {
            "id": letters.first_delivery_id + n,
            "letter_id": letter_id,
            "target_id": target_id,
            "status": LetterDeliveryStatus.AWAITING_CONFIRMATION,
            "attempts": 0,
        }
        for n, (letter_id, target_id) in enumerate(
            (row["id"], t)
            for row, targets in zip(letters.rows, letters.targets, strict=True)
            for t in targets
        )
    ]
    insert_rows(app, LetterDelivery, awaiting)
    analyze(app)
    with pacing(app, LOBBYING_JITTER=0.0):
        started = time.perf_counter()
        for row, now in zip(letters.rows, confirmed, strict=True):
            with app.app_context():
                schedule_letter(row["id"], now)
                db.session.commit()
        elapsed = time.perf_counter() - started
        expected, _free = schedule(app, found, letters, confirmed, seed=0)
    with app.app_context():
        got = db.session.execute(
            select(
                LetterDelivery.id,
                LetterDelivery.status,
                LetterDelivery.due_at,
                LetterDelivery.deferred_by,
            ).order_by(LetterDelivery.id)
        ).all()
    want = [(r["id"], r["status"], r["due_at"], r["deferred_by"]) for r in expected]
    if [tuple(g) for g in got] != want:
        wrong = next(w for g, w in zip(got, want, strict=True) if tuple(g) != w)
        raise BenchError(f"the bulk schedule differs from schedule_letter's, e.g. {wrong}")
    reset(app)
    return {"letters": count, "seconds": elapsed, "deliveries": len(awaiting)}


# -- the tick while all wait ------------------------------------------------------------------------


def time_ticks(app: Flask, count: int) -> dict[str, list[float]]:
    """Milliseconds of `delivery.tick()` and of the whole beat task, each in a fresh app context
    (as each Celery task runs); nothing may be sent."""
    from campaigns.lobbying import delivery
    from workers.lobbying import tick as lobbying_task

    ticks, tasks = [], []
    for n in range(count + 10):  # 10 warm-up rounds, not counted
        with app.app_context():
            started = time.perf_counter()
            result = delivery.tick()
            elapsed = time.perf_counter() - started
        if result.sent or result.failed or result.deferred or result.more:
            raise BenchError(f"a tick found letters due while all should wait: {result}")
        started = time.perf_counter()
        lobbying_task()  # FlaskTask: runs in an app context of its own
        task_elapsed = time.perf_counter() - started
        if n >= 10:
            ticks.append(elapsed * 1000)
            tasks.append(task_elapsed * 1000)
    return {"tick": ticks, "task": tasks}


def claim_plan(app: Flask) -> str:
    """PostgreSQL's plan of the claim query's core (what the tick costs, whatever the size)."""
    from campaigns.extensions import db

    with app.app_context():
        rows = db.session.execute(
            sql_text(
                "EXPLAIN SELECT d.id FROM letter_deliveries d JOIN targets t ON t.id = d.target_id"
                " WHERE d.status = 'scheduled' AND d.due_at <= now()"
                " ORDER BY d.due_at LIMIT 200 FOR UPDATE OF d SKIP LOCKED"
            )
        ).all()
        db.session.rollback()
    return " / ".join(r[0].strip() for r in rows)
