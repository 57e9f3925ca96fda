"""The system under test: a fresh PostgreSQL database, the system Redis under a private key prefix,
an SMTP sink, gunicorn (with the deployed config, campaigns/serving/gunicorn_conf.py) and one
Celery worker, and beside them the bare one-INSERT app of bench/floor_app.py under its own
gunicorn. `Stack.close()` undoes all of it."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis as redis_lib
from psycopg import sql

from bench import floor_app
from bench.procs import HOST, BenchError, Child, Processes, free_port, port_answers, wait_until

SETUP_TIMEOUT = 180.0
START_TIMEOUT = 60.0

PG_SOCKET_DIR = "/var/run/postgresql"


def default_pg_url() -> str:
    """`BENCH_PG_URL`, else the local PostgreSQL over its unix socket if it has one (as an app
    on its database's machine should connect: no TCP on either side), else over TCP."""
    if "BENCH_PG_URL" in os.environ:
        return os.environ["BENCH_PG_URL"]
    if os.path.exists(f"{PG_SOCKET_DIR}/.s.PGSQL.5432"):
        return f"host={PG_SOCKET_DIR} dbname=test user=postgres"
    return "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class StackConfig:
    pg_url: str  # the server's maintenance database, where ours is created and dropped
    redis_url: str
    gunicorn_workers: int
    gunicorn_threads: int | None  # None: the deployed config's (campaigns/serving/gunicorn_conf.py)
    celery_concurrency: int
    celery_pool: str
    # The worker's CPU priority (`nice`), as the README advises when the web app and the
    # workers share a machine: a burst of sign POSTs is answered first, the mail follows.
    worker_nice: int = 19
    # gunicorn's sync workers rather than the deployed config (its worker times each request's
    # wait, so that the app can refuse what waited longer than `shed_after_ms`).
    gunicorn_sync: bool = False
    shed_after_ms: int = 500


class Stack:
    def __init__(self, config: StackConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.run_id = secrets.token_hex(4)
        self.db_name = f"bench_{self.run_id}"
        self.redis_prefix = f"bench-{self.run_id}:"
        self.web_port = free_port()
        self.floor_port = free_port()
        self.smtp_port = free_port()
        self.mail_log = workdir / "mail.tsv"
        self.env = dict(os.environ)
        self.procs = Processes(self.env, workdir)
        self.web: Child | None = None
        self.floor: Child | None = None
        self.worker: Child | None = None
        self.worker_session_nice = "not started"
        self.sink: Child | None = None
        self._db_created = False
        self.cleanup_summary = ""

    # -- URLs and settings

    @property
    def database_url(self) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.config.pg_url)
        user = info.get("user") or os.environ.get("PGUSER") or "postgres"
        host = info.get("host") or HOST
        port = info.get("port") or 5432
        password = f":{info['password']}" if info.get("password") else ""
        if host.startswith("/"):  # a unix socket's directory
            return f"postgresql://{user}{password}@/{self.db_name}?host={host}&port={port}"
        return f"postgresql://{user}{password}@{host}:{port}/{self.db_name}"

    @property
    def database_connection(self) -> str:
        """How the app reaches PostgreSQL, for the report."""
        host = psycopg.conninfo.conninfo_to_dict(self.config.pg_url).get("host") or HOST
        return "unix socket" if host.startswith("/") else f"TCP to {host}"

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.web_port}"

    def app_env(self) -> dict[str, str]:
        unlimited = "1000000 per minute"
        (self.workdir / "metrics").mkdir(parents=True, exist_ok=True)
        self.env.update(
            {
                "CAMPAIGNS_PROFILE": "production",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.config.redis_url,
                "REDIS_KEY_PREFIX": self.redis_prefix,
                "MAIL_SERVER": HOST,
                "MAIL_PORT": str(self.smtp_port),
                "SECRET_KEY": secrets.token_urlsafe(32),
                "SESSION_COOKIE_SECURE": "false",
                "PUBLIC_BASE_URL": self.base_url,
                "RATELIMIT_SIGN_PER_IP": unlimited,
                "RATELIMIT_SIGN_PER_EMAIL": unlimited,
                "SHED_AFTER_MS": str(self.config.shed_after_ms),
                "INSTANCE_PATH": str(self.workdir / "instance"),
                # Request metrics as the README's deployment keeps them: files for /metrics.
                "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / "metrics"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return self.env

    # -- lifecycle

    def prepare(self) -> None:
        """The database: created, migrated, demo content loaded."""
        self.app_env()
        self._create_database()
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        self.procs.run("migrate", [*flask, "db", "upgrade"], SETUP_TIMEOUT)
        self.procs.run("demo", [*flask, "demo", "load"], SETUP_TIMEOUT)

    def open(self) -> None:
        """Prepare the database, then start the sink, gunicorn and the worker."""
        self.prepare()
        self.start_sink()
        self.start_web()
        self.start_worker()
        wait_until(port_answers(self.web_port), START_TIMEOUT, "gunicorn", self.procs)
        self.start_floor()

    def start_sink(self) -> None:
        self.sink = self.procs.spawn(
            "sink",
            [
                sys.executable, "-m", "bench.sink",
                "--port", str(self.smtp_port),
                "--out", str(self.mail_log),
            ],
        )  # fmt: skip
        wait_until(port_answers(self.smtp_port), START_TIMEOUT, "the SMTP sink", self.procs)

    def start_web(self) -> None:
        self.web = self._gunicorn("gunicorn", self.web_port, "wsgi:app")

    def start_floor(self) -> None:
        """The bare one-INSERT app of bench/floor_app.py, with the same gunicorn settings."""
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(floor_app.SCHEMA)
        # One thread per worker: bench/floor_app.py keeps one connection per process.
        self.floor = self._gunicorn("floor", self.floor_port, "bench.floor_app:app", threads=1)
        wait_until(port_answers(self.floor_port), START_TIMEOUT, "the floor app", self.procs)

    def _gunicorn(self, name: str, port: int, app: str, threads: int | None = None) -> Child:
        cfg = self.config
        threads = threads or cfg.gunicorn_threads
        worker_class = ["-c", "python:campaigns.serving.gunicorn_conf"]  # as the README deploys
        if cfg.gunicorn_sync:
            worker_class = ["--worker-class", "sync"]
        elif threads:
            worker_class += ["--threads", str(threads)]
        return self.procs.spawn(
            name,
            [
                sys.executable, "-m", "gunicorn",
                "--bind", f"{HOST}:{port}",
                "--workers", str(cfg.gunicorn_workers),
                *worker_class,
                "--no-control-socket",
                app,
            ],
        )  # fmt: skip

    def start_worker(self) -> None:
        cfg = self.config
        self.worker = self.procs.spawn(
            "celery",
            [
                "nice", "-n", str(cfg.worker_nice),
                sys.executable, "-m", "celery", "-A", "celery_worker", "worker",
                "-Q", "default,transactional",
                "--pool", cfg.celery_pool,
                "--concurrency", str(cfg.celery_concurrency),
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--hostname", f"bench-{self.run_id}@%h",
            ],
        )  # fmt: skip
        self.worker_session_nice = _lower_session_priority(self.worker.pid, cfg.worker_nice)

    def groups(self) -> dict[str, int]:
        """Role -> process group id, for the CPU meter."""
        return {
            name: child.pid
            for name, child in (
                ("gunicorn", self.web),
                ("floor", self.floor),
                ("celery", self.worker),
                ("sink", self.sink),
            )
            if child is not None
        }

    def close(self) -> list[str]:
        """Stop everything, drop the database, delete our Redis keys. Returns problems met."""
        problems: list[str] = []
        done = []
        if self.procs.children:
            done.append("stopped all processes")
        self.procs.close()
        if self._db_created:
            try:
                self._drop_database()
                done.append(f"dropped {self.db_name}")
            except Exception as exc:  # noqa: BLE001 - report and go on cleaning
                problems.append(f"could not drop database {self.db_name}: {exc}")
        try:
            deleted = delete_redis_keys(self.config.redis_url, self.redis_prefix)
            done.append(f"deleted {deleted} Redis keys")
        except Exception as exc:  # noqa: BLE001 - report and go on cleaning
            problems.append(f"could not delete Redis keys *{self.redis_prefix}*: {exc}")
        self.cleanup_summary = ", ".join(done) or "nothing to clean up"
        return problems

    # -- PostgreSQL

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(self.config.pg_url, autocommit=True, connect_timeout=5)

    def _create_database(self) -> None:
        try:
            with self._admin() as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db_name)))
        except psycopg.Error as exc:
            raise BenchError(f"cannot create database on {self.config.pg_url}: {exc}") from exc
        self._db_created = True

    def _drop_database(self) -> None:
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.db_name)
                )
            )
        self._db_created = False

    # -- Redis

    def drop_backlog(self) -> int:
        """Drop the work a sign phase left waiting, so that it cannot slow the next phase: the
        messages in our Celery queues (what `celery purge` does), the doorbells, and the outbox
        events not processed yet (marked processed, as if their mail had gone). Returns how many
        confirmation mails were dropped."""
        client = redis_lib.Redis.from_url(self.config.redis_url)
        try:
            for pattern in ("transactional*", "default*", "outbox-doorbell*"):
                for name in client.scan_iter(match=f"{self.redis_prefix}{pattern}", count=1000):
                    client.delete(name)
        finally:
            client.close()
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
            dropped = conn.execute(
                "UPDATE outbox_events SET processed_at = now() WHERE processed_at IS NULL"
                " AND type = 'signature.created'"
            ).rowcount
            # That mass update is the benchmark's own doing, not the app's: vacuum its dead rows
            # now, rather than let autovacuum do it in the middle of the next phase.
            conn.execute("VACUUM outbox_events")
        return dropped


def delete_redis_keys(url: str, prefix: str) -> int:
    """Delete every key that carries `prefix` anywhere in its name. SCAN, never FLUSH: the server
    is shared."""
    client = redis_lib.Redis.from_url(url)
    deleted = 0
    try:
        batch: list[bytes] = []
        for name in client.scan_iter(match=f"*{prefix}*", count=1000):
            batch.append(name)
            if len(batch) >= 500:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
    finally:
        with contextlib.suppress(Exception):
            client.close()
    return deleted


def _lower_session_priority(pid: int, nice: int) -> str:
    """Give the session of `pid` the nice value `nice` too, where Linux groups by session, and
    say what it is now (for the report).

    With autogroups (`/proc/sys/kernel/sched_autogroup_enabled`), the scheduler shares the CPU
    between sessions first and applies a process's nice value only within its session; every
    child here has a session of its own (so that it can be stopped as a group), so `nice` alone
    would not rank the worker below gunicorn. A systemd unit's `CPUWeight=` does the same job
    in production (see the README)."""
    autogroup = Path(f"/proc/{pid}/autogroup")
    if not autogroup.exists():
        return "no autogroups"
    with contextlib.suppress(OSError):
        autogroup.write_text(str(nice))
    try:
        # "/autogroup-85 nice 10"
        return "session autogroup nice " + autogroup.read_text().split()[-1]
    except (OSError, IndexError):
        return "session autogroup unknown"
