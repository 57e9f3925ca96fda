"""Webhook benchmark: `python -m bench.webhooks [--milestones 20] [--interval 1.5] [--quick]`.

A petition's milestone alert fanned out to 30 member networks, each subscribed to milestones on
the webhook channel with two endpoints: one on a receiver that answers at once, one on a receiver
that answers after 10 s. Both receivers are real HTTP servers on loopback in this process; each
checks every signature with the `standardwebhooks` library and logs when each message arrived.

A real Celery worker (the README's `-Q transactional,default`, prefork, `--concurrency` 2) and
beat send them. Each milestone is recorded as `tallies.services.record_milestones` records one
(the Milestone row and the `petition.milestone_reached` event in a savepoint) and committed;
from there everything is the platform's: the outbox publishes `events.dispatch`, the alerts
handler makes an alert per network and a webhook delivery per endpoint, publishes
`webhooks.send_due` after its commit, and the worker posts them from its thread pool.

Phases, in one run, each a new occasion per milestone (its own threshold):
1. warm-up: 2 milestones, all receivers fast (not judged);
2. baseline: `--milestones` milestones, one every `--interval` s, all 60 endpoints fast;
3. round 1 and round 2: the same with the slow receiver answering after `--slow-delay` s.
Each phase waits until every message reached its receiver and nothing is pending or in flight.
Latency = arrival at the receiver - the milestone's commit. The worker's pool processes' RSS is
sampled every 0.5 s.

Targets: p95 of the healthy endpoints < 2 s while the slow receiver holds its requests; every
message exactly once with a valid signature; worker memory flat (+10 MB at most from round 1 to
round 2, and after round 2 against after the baseline). Needs PostgreSQL (BENCH_PG_URL) and
Redis (BENCH_REDIS_URL); creates its own database and Redis key prefix and removes both (the
keys by SCAN of the prefix, never FLUSH).

Code: this module (command line, data, worker, main), bench/webhooks_receivers.py (the HTTP
receivers), bench/webhooks_phases.py (firing milestones, waiting, the database's facts, memory)
and bench/webhooks_report.py (latencies, tables, verdicts).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from bench.environment import machine_summary, tree_summary
from bench.mailing import PG_URL, REDIS_URL
from bench.procs import Child, Processes, venv_bin, wait_until
from bench.report import percentile
from bench.webhooks_phases import (
    MemoryTimeline,
    Phase,
    alert_times,
    delivery_facts,
    run_phase,
    task_times,
)
from bench.webhooks_receivers import Receiver
from bench.webhooks_report import measure, report

if TYPE_CHECKING:
    from flask import Flask

# The networks' countries (30 of the Council of Europe's members, one network each).
# fmt: off
COUNTRIES = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "NO", "CH", "GB",
)
# fmt: on
LOCAL_RECEIVERS = {"WEBHOOK_ALLOW_HTTP": "1", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=30, help="networks, 2 endpoints each")
    parser.add_argument("--milestones", type=int, default=20, help="milestones per phase")
    parser.add_argument("--interval", type=float, default=1.5, help="seconds between milestones")
    parser.add_argument("--slow-delay", type=float, default=10.0, help="the slow receiver's wait")
    parser.add_argument("--rounds", type=int, default=2, help="rounds with the slow receiver")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    parser.add_argument(
        "--queues", default="transactional,default", help="the worker's -Q (the README's)"
    )
    parser.add_argument(
        "--phase-timeout",
        type=float,
        default=300.0,
        help="seconds after a phase's last milestone until it must have drained",
    )
    parser.add_argument(
        "--webhook-concurrency",
        type=int,
        default=None,
        help="WEBHOOK_CONCURRENCY for the workers (sending threads per task; default: the app's)",
    )
    parser.add_argument(
        "--webhook-worker",
        type=int,
        default=2,
        metavar="N",
        help="processes of the worker serving the `webhooks` queue (the README's: 2); 0 routes"
        " the webhook tasks to `default` as before that queue existed (experiment)",
    )
    parser.add_argument(
        "--handover",
        action="store_true",
        help="experiment (with --webhook-worker 2 or more): one claimer at a time, handing over"
        " when its budget runs out (bench/webhooks_experiment.py)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 milestones, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.milestones, args.rounds = 5, 1
    if args.handover and args.webhook_worker < 2:
        parser.error("--handover needs --webhook-worker 2 or more")
    if not 1 <= args.networks <= len(COUNTRIES):
        parser.error(f"--networks must be 1 to {len(COUNTRIES)}")
    return args


# -- data ------------------------------------------------------------------------------------------


def load_data(app: Flask, receivers: dict[str, Receiver], count: int) -> int:
    """The demo campaigns, and `count` networks subscribed to milestones by webhook with an
    endpoint on each receiver (described "fast" and "slow"). Returns the petition's id."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from campaigns.alerts.models import AlertSubscription, Channel, Topic
    from campaigns.campaign.models import Campaign, CampaignStatus
    from campaigns.devstack.demo import load_demo_content
    from campaigns.extensions import db
    from campaigns.networks.models import Network
    from campaigns.petitions.models import Petition
    from campaigns.webhooks.endpoints import create_endpoint

    with app.app_context():
        upgrade()
        load_demo_content()
        db.session.commit()
        petition_id = db.session.scalar(
            select(Petition.id)
            .join(Campaign, Campaign.id == Petition.campaign_id)
            .where(Campaign.status == CampaignStatus.LIVE)
            .order_by(Petition.id)
        )
        for n in range(count):
            slug = f"bench-{COUNTRIES[n].lower()}"
            network = Network(
                slug=slug,
                name=f"Benchmark network {COUNTRIES[n]}",
                countries=[COUNTRIES[n]],
                languages=[("en", "fr", "de")[n % 3]],
            )
            db.session.add(network)
            db.session.flush()
            db.session.add(
                AlertSubscription(
                    network_id=network.id, topic=Topic.MILESTONE_REACHED, channel=Channel.WEBHOOK
                )
            )
            for kind, receiver in receivers.items():
                endpoint = create_endpoint(network, receiver.url(slug), kind)
                receiver.secrets[slug] = endpoint.secret
        db.session.commit()
        db.session.remove()
    return petition_id


# -- the worker ------------------------------------------------------------------------------------


def celery_command(app_module: str, name: str, queues: str, concurrency: int) -> list[str]:
    return [
        venv_bin("celery"),
        "-A",
        app_module,
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
        "--loglevel",
        "INFO",
    ]


def start_workers(
    procs: Processes, env: dict[str, str], workdir: Path, args: argparse.Namespace
) -> tuple[list[Child], Child]:
    """One worker as the README deploys it (and, for the experiment, a second one for the
    webhook queue), and beat: its webhooks.tick is the safety net that sends what a send_due
    task left when its time budget ran out."""
    app_module = (
        "bench.webhooks_experiment" if args.handover or not args.webhook_worker else "celery_worker"
    )
    workers = [
        procs.spawn(
            "worker",
            celery_command(app_module, "webhooks-bench", args.queues, args.concurrency),
            env=env,
        )
    ]
    if args.webhook_worker:
        workers.append(
            procs.spawn(
                "webhook-worker",
                celery_command(app_module, "webhooks-sender", "webhooks", args.webhook_worker),
                env=env,
            )
        )
    for worker in workers:
        wait_until(lambda w=worker: " ready." in w.tail(200), 60, f"the {worker.name}", procs)
    beat = procs.spawn(
        "beat",
        [
            venv_bin("celery"),
            "-A",
            app_module,
            "beat",
            "--schedule",
            str(workdir / "celerybeat-schedule"),
            "--loglevel",
            "INFO",
        ],
        env=env,
    )
    return workers, beat


# -- main --------------------------------------------------------------------------------------------


def plan(args: argparse.Namespace) -> list[Phase]:
    """The phases, each milestone with a threshold of its own (a new occasion)."""
    names = ["warm-up", "baseline", *(f"round {n + 1}" for n in range(args.rounds))]
    phases = []
    for index, name in enumerate(names):
        count = 2 if name == "warm-up" else args.milestones
        delay = args.slow_delay if name.startswith("round") else 0.0
        thresholds = [1_000_000 * (index + 1) + n for n in range(count)]
        phases.append(Phase(name, delay, thresholds))
    return phases


def run(
    app: Flask,
    procs: Processes,
    receivers: dict[str, Receiver],
    env: dict[str, str],
    workdir: Path,
    args: argparse.Namespace,
) -> tuple[list[Phase], dict[str, dict], MemoryTimeline]:
    petition_id = load_data(app, receivers, args.networks)
    workers, beat = start_workers(procs, env, workdir, args)
    memory = MemoryTimeline([w.pid for w in workers])
    phases, measured = plan(args), {}
    offsets: dict[str, int] = {}
    groups = {"beat": beat.pid, **{w.name: w.pid for w in workers}}
    try:
        for phase in phases:
            print(
                f"{phase.name}: {len(phase.thresholds)} milestones, one every {args.interval:g} s,"
                f" slow receiver {phase.slow_delay:g} s ...",
                flush=True,
            )
            run_phase(
                app,
                procs,
                receivers,
                memory,
                petition_id,
                phase,
                networks=args.networks,
                interval=args.interval,
                timeout=args.phase_timeout,
                groups=groups,
            )
            phase.results["tasks"] = task_times(workers, offsets)
            alerts = alert_times(app, petition_id, phase.thresholds)
            facts = delivery_facts(app, list(alerts))
            measured[phase.name] = m = measure(phase, alerts, facts, args.networks)
            print(
                f"  {m['received']} messages received, drained {phase.waited_s:.1f} s after the"
                f" last milestone; healthy p95 {percentile(m['healthy'], 95):.2f} s",
                flush=True,
            )
    finally:
        memory.stop()
    return phases, measured, memory


def cleanup(procs: Processes, db_name: str, prefix: str) -> None:
    """Stop every process we started, drop the database, delete our Redis keys (SCAN of the
    prefix: the server is shared, never FLUSH)."""
    import redis

    procs.close()
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name))
        )
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_started = time.monotonic()
    started_at = datetime.now(UTC)
    db_name = f"bench_webhooks_{secrets.token_hex(4)}"
    prefix = f"bench-webhooks-{secrets.token_hex(4)}:"
    base = PG_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
        pg_version = admin.execute("SHOW server_version").fetchone()[0].split()[0]
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    procs = Processes(dict(os.environ), workdir)
    receivers = {"fast": Receiver("fast"), "slow": Receiver("slow")}
    try:
        settings = {
            "DATABASE_URL": f"{base}/{db_name}",
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "CAMPAIGNS_PROFILE": "production",
            "SESSION_COOKIE_SECURE": "false",
            **LOCAL_RECEIVERS,
        }
        os.environ.update(settings)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if args.webhook_concurrency:
            env["WEBHOOK_CONCURRENCY"] = str(args.webhook_concurrency)
        if args.handover:
            env["BENCH_WEBHOOK_HANDOVER"] = "1"
        if not args.webhook_worker:
            env["BENCH_WEBHOOKS_ON_DEFAULT"] = "1"
        from campaigns import create_app

        app = create_app()
        print(f"database {db_name} (PostgreSQL {pg_version}), logs in {workdir}", flush=True)
        phases, measured, memory = run(app, procs, receivers, env, workdir, args)
    finally:
        for receiver in receivers.values():
            receiver.stop()
        cleanup(procs, db_name, prefix)
    context = {
        "command": "python -m bench.webhooks "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": started_at.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_summary(),
        "code": tree_summary(),
        "software": f"Python {sys.version.split()[0]}; PostgreSQL {pg_version}",
        "worker": f"1 x prefork, concurrency {args.concurrency}, -Q {args.queues}, beat;"
        f" WEBHOOK_CONCURRENCY {args.webhook_concurrency or app.config['WEBHOOK_CONCURRENCY']},"
        f" WEBHOOK_TIMEOUT {app.config['WEBHOOK_TIMEOUT']:g} s"
        + (
            f"; EXPERIMENT: webhook tasks on their own queue, served by a second worker"
            f" (prefork, concurrency {args.webhook_worker}, -Q webhooks)"
            + ("; one claimer at a time, handing over" if args.handover else "")
            if args.webhook_worker
            else ""
        ),
        "load": f"{args.networks} networks x 2 endpoints; milestones every {args.interval:g} s;"
        f" slow receiver answers after {args.slow_delay:g} s",
    }
    report(phases, measured, memory, args, context)
    print(f"\nthe whole run took {time.monotonic() - run_started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
