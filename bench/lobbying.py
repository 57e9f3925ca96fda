"""Lobbying benchmark: `python -m bench.lobbying [--sizes 5000 50000] [--quick]`.

An action whose supporters each write to 5 of 720 MEPs (the Parliament's seats per country, each
MEP in their capital's time zone). A size counts letters as the targets receive them (one
delivery = one email): 50,000 letters are 10,000 confirmed supporters writing to 5 MEPs each.
For each size, in one run:

1. **Tick while all wait.** The deliveries scheduled as `delivery.schedule_letter` schedules them
   with the configured pacing (default 30 an hour per target, jitter 0.25, Mon-Fri 08:00-19:00),
   for letters confirmed in the evening after the offices closed: every one is due later. Then
   `delivery.tick()` is timed many times in-process (each in its own app context, as a Celery task
   runs), and so is the whole beat task `lobbying.tick` (tick, then the daily digests).
2. **Ceiling.** A plain `smtplib` loop sends N copies of one letter, as the platform builds it,
   over one connection into the SMTP sink (bench/sink.py), as bench/mailing.py does.
3. **Platform, pacing lifted.** The deliveries scheduled again, for letters confirmed over the
   past hour with LOBBYING_PER_TARGET_PER_HOUR=10,000,000 (0.36 ms apart), office hours
   Mon-Sun 00:00-24:00 and no jitter: all are due. A real Celery worker (`-Q default`, prefork,
   `--concurrency` processes) and beat (LOBBYING_TICK_INTERVAL=1) send them; timed from the
   moment the held-back letters are released and a tick is published (as bench/mailing.py runs
   mailings.tick when its clock starts) until the sink holds all N. LOBBYING_DELIVERY stays "test": every letter must reach the
   test inbox and no other envelope recipient (checked), each exactly once.
   The peak RSS of the worker's pool processes (the ones that send) is sampled meanwhile.

Targets: tick p95 < 50 ms, worker < 150 MB and flat, letters/s >= 70 % of the ceiling.
Needs PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/test) and Redis
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/0); it creates its own database and key prefix
and removes both at the end (Redis keys by SCAN of its prefix, never FLUSH).

This module holds the command line, each size's phases, setup and cleanup; the rest is in
bench/lobbying_data.py (the MEPs, the campaign, the letters and their schedule, bulk-loaded),
bench/lobbying_ticks.py (schedule_letter on a sample, the tick timings, the claim query's plan),
bench/lobbying_sending.py (the sink, the ceiling, the worker and beat, CPU and memory sampling)
and bench/lobbying_report.py (the tables and the verdicts).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from bench.lobbying_data import (
    LIFTED,
    TARGETS_PER_LETTER,
    TEST_INBOX,
    Directory,
    analyze,
    evening_after,
    insert_rows,
    load_directory,
    make_letters,
    pacing,
    reset,
    schedule,
    set_next_slots,
)
from bench.lobbying_report import report
from bench.lobbying_sending import (
    Sink,
    ceiling,
    delivery_states,
    sample_letter,
    send_with_platform,
)
from bench.lobbying_ticks import check_schedule_letter, claim_plan, time_ticks
from bench.mailing import PG_URL, REDIS_URL, sql_text
from bench.procs import HOST, BenchError, Processes
from bench.report import median, percentile

if TYPE_CHECKING:
    from flask import Flask


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[5_000, 50_000], help="letters (deliveries)"
    )
    parser.add_argument("--ticks", type=int, default=200, help="timed ticks per size")
    parser.add_argument(
        "--concurrency", type=int, default=os.cpu_count() or 2, help="worker pool processes"
    )
    parser.add_argument(
        "--send-timeout",
        type=float,
        default=420.0,
        help="seconds the platform may take per size; what arrived by then is measured",
    )
    parser.add_argument(
        "--check-letters", type=int, default=400, help="letters scheduled by schedule_letter"
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run (500 and 2,000)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.ticks, args.check_letters = [500, 2_000], 50, 100
    return args


# -- one size --------------------------------------------------------------------------------------


def hold_deliveries(app: Flask, *, held: bool) -> None:
    """All deliveries awaiting (held) or scheduled (released), in one statement."""
    from campaigns.extensions import db

    status = "awaiting" if held else "scheduled"
    with app.app_context():
        db.session.execute(sql_text("UPDATE letter_deliveries SET status = :s"), {"s": status})
        db.session.commit()


def run_size(
    app: Flask,
    procs: Processes,
    sink: Sink,
    env: dict[str, str],
    workdir: Path,
    found: Directory,
    size: int,
    args: argparse.Namespace,
) -> dict:
    from campaigns.core.db import utcnow
    from campaigns.extensions import db
    from campaigns.lobbying.models import Letter, LetterDelivery

    supporters = max(1, size // TARGETS_PER_LETTER)
    result: dict = {"size": supporters * TARGETS_PER_LETTER, "supporters": supporters}
    size = result["size"]
    reset(app)

    # 1. All waiting: confirmed from 19:00 on, one every 0.36 s (10,000 in an hour), paced as
    # configured.
    started = time.perf_counter()
    letters = make_letters(found, supporters, first_id=1, tag=secrets.token_hex(3))
    evening = evening_after(utcnow())
    gap = 3600 / max(supporters, 10_000)
    confirmed = [evening + timedelta(seconds=gap * n) for n in range(supporters)]
    for row, at in zip(letters.rows, confirmed, strict=True):
        row.update(created_at=at, confirmation_requested_at=at, confirmed_at=at)
    waiting, free = schedule(app, found, letters, confirmed, seed=size)
    built = time.perf_counter() - started
    insert_rows(app, Letter, letters.rows)
    insert_rows(app, LetterDelivery, waiting)
    set_next_slots(app, free)
    analyze(app)
    result["load_s"] = time.perf_counter() - started
    result["build_s"] = built
    now = utcnow()
    result["waiting_from"] = min(r["due_at"] for r in waiting) - now
    result["waiting_until"] = max(r["due_at"] for r in waiting) - now
    print(
        f"  {size:,} letters of {supporters:,} supporters loaded in {result['load_s']:.1f} s"
        f" (schedule built in {built:.1f} s); due from {result['waiting_from']} to"
        f" {result['waiting_until']} from now",
        flush=True,
    )
    result["plan"] = claim_plan(app)
    result["ticks"] = time_ticks(app, args.ticks)
    print(
        f"  tick while all wait: median {median(result['ticks']['tick']):.2f} ms,"
        f" p95 {percentile(result['ticks']['tick'], 95):.2f} ms",
        flush=True,
    )

    # 2. Pacing lifted: the same letters, confirmed over the past hour, all due.
    now = utcnow()
    confirmed = [now - timedelta(seconds=3600 - 3600 * n / supporters) for n in range(supporters)]
    with pacing(app, **LIFTED):
        due, free = schedule(app, found, letters, confirmed, seed=size)
    with app.app_context():
        db.session.execute(sql_text("TRUNCATE letter_deliveries"))
        db.session.commit()
    insert_rows(app, LetterDelivery, due)
    set_next_slots(app, free)
    analyze(app)
    later = sum(1 for r in due if r["due_at"] > utcnow())
    if later:
        raise BenchError(f"{later} deliveries are not due yet")
    # Held back until the worker and beat run, as a mailing waits until it is started: the
    # clock measures sending, not starting processes.
    hold_deliveries(app, held=True)

    # 3. The ceiling: N copies of one of these letters over one connection.
    sender, message = sample_letter(app)
    result["message_bytes"] = len(message)
    result["ceiling"], result["ceiling_cores"] = ceiling(sink, sender, message, size)
    print(f"  ceiling: {result['ceiling']:,.0f} msg/s; now the platform...", flush=True)

    # 4. The platform: a worker and beat, until the sink holds every letter.
    def release() -> None:
        # The letters become due and beat's tick runs at once, as the mailing benchmark runs
        # mailings.tick when its clock starts: the clock times sending, not beat's interval.
        hold_deliveries(app, held=False)
        app.extensions["celery"].send_task("lobbying.tick")

    sent = send_with_platform(procs, sink, env, workdir, size, args, release=release)
    result.update(sent)
    result["states"] = delivery_states(app)
    others = {r: n for r, n in sent["recipients"].items() if r != TEST_INBOX}
    if others:
        raise BenchError(f"letters reached addresses other than the test inbox: {others}")
    print(
        f"  platform: {sent['arrived']:,} letters in {sent['elapsed']:.1f} s ="
        f" {sent['rate']:,.0f} letters/s; states {result['states']}",
        flush=True,
    )
    return result


# -- main --------------------------------------------------------------------------------------------


def cleanup(procs: Processes, db_name: str, prefix: str) -> None:
    procs.close()
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name))
        )
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_started = time.monotonic()
    db_name = f"bench_lobbying_{secrets.token_hex(4)}"
    prefix = f"bench-lobbying-{secrets.token_hex(4)}:"
    base = PG_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
        pg_version = admin.execute("SHOW server_version").fetchone()[0].split()[0]
    workdir = Path(tempfile.mkdtemp(prefix="bench-lobbying-"))
    procs = Processes(dict(os.environ), workdir)
    results = []
    try:
        sink = Sink(procs, workdir)
        settings = {
            "DATABASE_URL": f"{base}/{db_name}",
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "CAMPAIGNS_PROFILE": "production",
            "SESSION_COOKIE_SECURE": "false",
            "MAIL_SERVER": HOST,
            "MAIL_PORT": str(sink.port),
            "LOBBYING_DELIVERY": "test",
            "LOBBYING_TEST_INBOX": TEST_INBOX,
        }
        # This process keeps the configured pacing (the tick phase); the worker and beat get it
        # lifted.
        os.environ.update(settings)
        env = {
            **os.environ,
            **{name: str(value) for name, value in LIFTED.items()},
            "PYTHONUNBUFFERED": "1",
        }
        from flask_migrate import upgrade

        from campaigns import create_app

        app = create_app()
        with app.app_context():
            upgrade()
        found = load_directory(app)
        configured = {
            name: app.config[name]
            for name in (
                "LOBBYING_PER_TARGET_PER_HOUR",
                "LOBBYING_OFFICE_HOURS",
                "LOBBYING_JITTER",
                "LOBBYING_BATCH_SIZE",
            )
        }
        print(f"database {db_name} (PostgreSQL {pg_version}), configured pacing {configured}")
        check = check_schedule_letter(app, found, args.check_letters)
        print(
            f"schedule_letter: {check['letters']} letters ({check['deliveries']} deliveries) in"
            f" {check['seconds']:.2f} s = {check['letters'] / check['seconds']:,.0f} letters/s,"
            " each committed; the bulk schedule gives the same times",
            flush=True,
        )
        for size in args.sizes:
            print(f"{size:,} letters:", flush=True)
            results.append(run_size(app, procs, sink, env, workdir, found, size, args))
    finally:
        cleanup(procs, db_name, prefix)
    report(results, check, configured, args, time.monotonic() - run_started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
