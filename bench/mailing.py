"""Mailing benchmark: `python -m bench.mailing [--sizes 10000 100000]`.

For each audience size N, in the same run and into the same local SMTP sink (bench/sink.py):

1. the ceiling: a plain `smtplib` loop sending N pre-built messages over one connection;
2. the platform: a mailing to N consenting supporters, sent by two Celery worker processes
   (`-Q bulk --concurrency 1` each), from the moment beat starts it until the sink holds all N.

It prints messages per second for both and their ratio (target: at least 70 %), and the peak
memory (RSS) of each worker's sending process (target: under 200 MB, not growing with N).
Needs PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/test) and Redis
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/0); it creates its own database and key prefix
and removes both at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy import TextClause

import argparse
import os
import secrets
import smtplib
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

from bench.procs import HOST, Processes, free_port, venv_bin, wait_until
from bench.report import table

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="worker processes sending bulk")
    return parser.parse_args(argv)


class Sink:
    def __init__(self, procs: Processes, workdir: Path) -> None:
        self.port = free_port()
        self.out = workdir / "sink.tsv"
        self.out.touch()
        self.runs: list[int] = []
        procs.spawn(
            "sink",
            [sys.executable, "-m", "bench.sink", "--port", str(self.port), "--out", str(self.out)],
        )
        wait_until(self._answers, 20, "the SMTP sink")

    def _answers(self) -> bool:
        try:
            smtplib.SMTP(HOST, self.port, timeout=1).quit()
            return True
        except OSError:
            return False

    def arrivals(self) -> list[float]:
        with open(self.out, encoding="utf-8") as fh:
            return [float(line.split("\t", 1)[0]) for line in fh if line.strip()]


def ceiling(sink: Sink, message: bytes, count: int) -> float:
    """Messages per second of a bare smtplib loop over one connection."""
    before = len(sink.arrivals())
    smtp = smtplib.SMTP(HOST, sink.port)
    start = time.time()
    for n in range(count):
        smtp.sendmail("bounces@bench.example.org", [f"r{n}@bench.example.org"], message)
    smtp.quit()
    wait_until(lambda: len(sink.arrivals()) >= before + count, 60, "the ceiling's messages")
    return count / (sink.arrivals()[-1] - start)


def load_supporters(app: Flask, count: int, country: str) -> int:
    """`count` confirmed signatures from `country` with newsletter consent, inserted in bulk."""
    from sqlalchemy import insert, select

    from campaigns.campaign.models import Campaign
    from campaigns.core.db import utcnow
    from campaigns.extensions import db
    from campaigns.petitions.consent import consent_text_id
    from campaigns.petitions.models import ConsentRecord, Signature

    with app.app_context(), app.test_request_context():
        petition = db.session.scalar(select(Campaign).order_by(Campaign.id)).petition
        text_id = consent_text_id("newsletter", "en")
        now = utcnow()
        tag = uuid.uuid4().hex[:6]
        first = db.session.scalar(select(db.func.coalesce(db.func.max(Signature.id), 0))) + 1
        for start in range(0, count, 10_000):
            rows = [
                {
                    "id": first + n,
                    "petition_id": petition.id,
                    "status": "confirmed",
                    "email": f"supporter{n}.{tag}@bench.example.org",
                    "name": f"Supporter{n} Example",
                    "country": country,
                    "show_name": False,
                    "locale": ("en", "fr", "de")[n % 3],
                    "created_at": now,
                    "confirmed_at": now,
                }
                for n in range(start, min(start + 10_000, count))
            ]
            db.session.execute(insert(Signature), rows)
            db.session.execute(
                insert(ConsentRecord),
                [
                    {
                        "signature_id": r["id"],
                        "consent_text_id": text_id,
                        "granted": True,
                        "recorded_at": now,
                    }
                    for r in rows
                ],
            )
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                sql_text("SELECT setval('signatures_id_seq', (SELECT max(id) FROM signatures))")
            )
            db.session.commit()
    return count


def sql_text(statement: str) -> TextClause:
    from sqlalchemy import text

    return text(statement)


def make_mailing(app: Flask, country: str) -> int:
    from campaigns.extensions import db
    from campaigns.mailings import lifecycle
    from campaigns.mailings.models import Mailing, MailingVersion

    with app.app_context():
        mailing = Mailing(name="Benchmark", audience={"countries": [country]}, default_locale="en")
        for locale, greeting in (("en", "Hello"), ("fr", "Bonjour"), ("de", "Hallo")):
            mailing.versions.append(
                MailingVersion(
                    locale=locale,
                    subject=f"{greeting} {{{{ first_name | friend }}}}: news from the network",
                    body_markdown=f"{greeting} {{{{ first_name | friend }}}},\n\n"
                    + "The EU Drugs Agency published its yearly report. **Read it** and act.\n\n"
                    * 8,
                )
            )
        db.session.add(mailing)
        db.session.commit()
        lifecycle.schedule(mailing)
        db.session.commit()
        return mailing.id


def sample_message(app: Flask, mailing_id: int) -> bytes:
    """One message as the platform builds it, for the ceiling to send N times."""
    from campaigns.extensions import db
    from campaigns.mailings.compose import prepare
    from campaigns.mailings.message import MessageFactory, Recipient, prepare_layout
    from campaigns.mailings.models import Mailing

    with app.app_context(), app.test_request_context():
        mailing = db.session.get(Mailing, mailing_id)
        version = mailing.versions[0]
        layout = prepare_layout(prepare(version.locale, version.subject, version.body_markdown))
        _sender, data, _id = MessageFactory(mailing_id).build(
            layout, Recipient(1, "someone@bench.example.org", {"first_name": "Someone"})
        )
        return data


def sent_count(app: Flask, mailing_id: int) -> int:
    from sqlalchemy import func, select

    from campaigns.extensions import db
    from campaigns.mailings.models import Delivery, DeliveryStatus

    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.SENT)
        )


class MemoryWatch:
    """Peak RSS of each process under the given parents (the workers' sending processes)."""

    def __init__(self, pids: list[int]) -> None:
        self.parents = [psutil.Process(pid) for pid in pids]
        self.peaks: dict[int, int] = {}

    def sample(self) -> None:
        for parent in self.parents:
            for proc in [parent, *parent.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), rss)


def run_size(
    app: Flask, procs: Processes, sink: Sink, env: dict[str, str], size: int, workers_count: int
) -> dict[str, float]:
    from campaigns.extensions import db

    # Each size's supporters come from their own country, and its mailing goes to them only.
    country = ("DE", "FR", "IT", "ES", "PL", "SE")[len(sink.runs)]
    sink.runs.append(size)
    load_supporters(app, size, country)
    mailing_id = make_mailing(app, country)
    message = sample_message(app, mailing_id)
    ceiling_rate = ceiling(sink, message, size)

    workers = [
        procs.spawn(
            f"worker-{size}-{n}",
            [
                venv_bin("celery"),
                "-A",
                "celery_worker",
                "worker",
                "-Q",
                "bulk",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench{n}-{size}@%h",
                "--loglevel",
                "WARNING",
            ],
            env=env,
        )
        for n in range(workers_count)
    ]
    time.sleep(4)  # let both workers connect to the broker
    watch = MemoryWatch([w.pid for w in workers])
    before = len(sink.arrivals())
    from workers.mailings import tick

    start = time.time()
    with app.app_context():
        tick()
    deadline = start + 900
    while len(sink.arrivals()) < before + size:
        procs.check()
        watch.sample()
        if time.time() > deadline:
            raise RuntimeError(f"only {len(sink.arrivals()) - before} of {size} messages arrived")
        time.sleep(0.25)
    elapsed = sink.arrivals()[-1] - start
    assert sent_count(app, mailing_id) == size
    procs.stop(workers)
    with app.app_context():
        db.session.remove()
    peaks = sorted(watch.peaks.values(), reverse=True)[:workers_count]
    return {
        "size": size,
        "ceiling": ceiling_rate,
        "platform": size / elapsed,
        "worker_peaks_mb": [p / 2**20 for p in peaks],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db_name = f"bench_mailing_{secrets.token_hex(4)}"
    prefix = f"bench-mailing-{secrets.token_hex(4)}:"
    base = PG_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
    workdir = Path(tempfile.mkdtemp(prefix="bench-mailing-"))
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
            "MAILING_RATE_PER_SECOND": "1000000",
            "MAILING_RATE_PER_HOUR": "0",
            "MAILING_BATCH_SIZE": str(args.batch_size),
            "MAILING_PARALLEL_BATCHES": str(args.workers),
            "MAILING_AUDIENCE_CHUNK": "5000",
        }
        os.environ.update(settings)
        env = {**os.environ, **settings, "PYTHONUNBUFFERED": "1"}
        from flask_migrate import upgrade

        from campaigns import create_app
        from campaigns.devstack.demo import load_demo_content
        from campaigns.extensions import db

        app = create_app()
        with app.app_context():
            upgrade()
            load_demo_content()
            db.session.commit()
        for size in args.sizes:
            print(f"audience of {size:,}: loading, ceiling, then the mailing...", flush=True)
            results.append(run_size(app, procs, sink, env, size, args.workers))
    finally:
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

    rows = [
        [
            f"{r['size']:,}",
            f"{r['ceiling']:,.0f}",
            f"{r['platform']:,.0f}",
            f"{100 * r['platform'] / r['ceiling']:.0f} %",
            " / ".join(f"{mb:.0f}" for mb in r["worker_peaks_mb"]),
        ]
        for r in results
    ]
    print()
    print(
        table(
            [
                "recipients",
                "ceiling msg/s (smtplib loop)",
                f"platform msg/s ({args.workers} workers)",
                "ratio",
                "worker peak RSS MB",
            ],
            rows,
        )
    )
    print("\ntargets: ratio >= 70 %; each worker < 200 MB and not growing with the audience")
    return 0


if __name__ == "__main__":
    sys.exit(main())
