"""The system the chaos suite breaks: bench/stack.py's deployment on private services.

The same gunicorn, Celery worker and settings as `make bench`, but on the suite's own PostgreSQL
and Redis (bench/chaos_services.py), with every worker and beat restarted when it dies as systemd
would, two beats at once (the README asks for one; a second started by mistake must do no harm),
a bulk worker for the mailing, and the sink of bench/chaos_sink.py, which also keeps each
confirmation mail's link.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg

from bench.chaos_services import PrivatePostgres, PrivateRedis, Supervisor, gunicorn_workers
from bench.procs import Child, port_answers, wait_until
from bench.stack import Stack, StackConfig

BEATS = 2


class ChaosStack(Stack):
    def __init__(self, workdir: Path, claim_lease: int, restart_sec: float = 1.0) -> None:
        cores = os.cpu_count() or 2
        config = StackConfig(
            pg_url="",
            redis_url="",
            gunicorn_workers=2 * cores,  # bench.run's defaults, the README's deployment
            gunicorn_threads=1,
            celery_concurrency=cores,
            celery_pool="prefork",
        )
        super().__init__(config, workdir)
        self.postgres = PrivatePostgres(self.procs)
        self.redis = PrivateRedis(self.procs)
        config.pg_url = self.postgres.url
        config.redis_url = self.redis.url
        self.links_log = workdir / "links.tsv"
        self.claim_lease = claim_lease
        self.supervisor = Supervisor(self.procs, restart_sec)

    def app_env(self) -> dict[str, str]:
        env = super().app_env()
        env.update(
            {
                # The mailing's settings as bench/mailing.py sends it: no rate limit, so that
                # the kills fall while the worker is busiest.
                "MAILING_RATE_PER_SECOND": "1000000",
                "MAILING_RATE_PER_HOUR": "0",
                "MAILING_BATCH_SIZE": "500",
                "MAILING_AUDIENCE_CHUNK": "5000",
                "MAILING_CLAIM_LEASE": str(self.claim_lease),
            }
        )
        return env

    # -- lifecycle

    def open(self) -> None:
        self.postgres.init()
        self.postgres.start()
        self.redis.start()
        self.prepare()
        self.start_sink()
        self.start_web()
        self.supervisor.add("celery", self._start_worker)
        for n in range(1, BEATS + 1):
            self.supervisor.add(f"beat-{n}", lambda n=n: self._start_beat(n))
        self.supervisor.add("bulk", self._start_bulk_worker)
        wait_until(port_answers(self.web_port), 60, "gunicorn", self.procs)

    def start_sink(self) -> None:
        self.links_log.touch()
        self.sink = self.procs.spawn(
            "sink",
            [
                sys.executable, "-m", "bench.chaos_sink",
                "--port", str(self.smtp_port),
                "--out", str(self.mail_log),
                "--links", str(self.links_log),
            ],
        )  # fmt: skip
        wait_until(port_answers(self.smtp_port), 60, "the SMTP sink", self.procs)

    def _start_worker(self) -> Child:
        self.start_worker()
        assert self.worker is not None
        return self.worker

    def _start_beat(self, n: int) -> Child:
        return self.procs.spawn(
            f"beat-{n}",
            [
                sys.executable, "-m", "celery", "-A", "celery_worker", "beat",
                "--schedule", str(self.workdir / f"beat-{n}-schedule"),
                "--loglevel", "WARNING",
            ],
        )  # fmt: skip

    def _start_bulk_worker(self) -> Child:
        """The README's bulk worker (`-Q bulk --concurrency 2`), at the workers' priority."""
        return self.procs.spawn(
            "bulk",
            [
                "nice", "-n", str(self.config.worker_nice),
                sys.executable, "-m", "celery", "-A", "celery_worker", "worker",
                "-Q", "bulk", "--pool", "prefork", "--concurrency", "2",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--hostname", f"bulk-{self.run_id}@%h", "--loglevel", "WARNING",
            ],
        )  # fmt: skip

    def kill_gunicorn_worker(self) -> int:
        """kill -9 one of gunicorn's workers (its master starts another); returns its pid."""
        assert self.web is not None
        pid = gunicorn_workers(self.web.pid)[0]
        os.kill(pid, 9)
        return pid

    def gunicorn_back(self, killed: int) -> bool:
        assert self.web is not None
        workers = gunicorn_workers(self.web.pid)
        return killed not in workers and len(workers) == self.config.gunicorn_workers

    def query(self, statement: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(statement, params).fetchall()

    def close(self) -> list[str]:
        """Stop everything; the private services' folders go with them."""
        self.supervisor.close()
        services = [c for c in (self.postgres.child, self.redis.child) if c is not None]
        self.procs.stop([c for c in self.procs.children if c not in services])
        self.postgres.close()
        self.redis.close()
        self.procs.close()
        self._db_created = False
        self.cleanup_summary = "stopped all processes, removed the private PostgreSQL and Redis"
        return []
