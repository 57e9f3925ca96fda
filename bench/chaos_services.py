"""The chaos suite's own PostgreSQL and Redis, and a supervisor that restarts what dies.

The suite restarts both services and kills workers, so it never uses the machine's shared
instances: `PrivatePostgres` is a cluster made with `initdb` in a temporary folder, reached over
a unix socket in that folder only (no TCP); `PrivateRedis` a `redis-server` on a free port with a
temporary folder. Both run as children of the benchmark's `Processes`, so its watchdog stops them
if the suite dies.

Redis runs without persistence (no RDB, no AOF): a restart loses every queued task, doorbell and
counter. That is the case the platform must survive without help, since the outbox in PostgreSQL,
not the broker, is the record of what is still to be done (README, "How it works"); a Redis that
persisted would hide a lost task behind its own recovery.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import redis as redis_lib

from bench.procs import HOST, BenchError, Child, Processes, free_port, wait_until

START_TIMEOUT = 60.0
PG_BIN = Path("/usr/local/bin")


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user then."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]


class PrivatePostgres:
    """A throw-away cluster: `initdb` into a temp folder, `postgres` on a private socket."""

    def __init__(self, procs: Processes) -> None:
        self.procs = procs
        self.root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.root / "data"
        self.port = free_port()  # names the socket file; nothing listens on TCP
        self.child: Child | None = None
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        """The maintenance database, where bench.stack creates and drops its own."""
        return f"host={self.root} port={self.port} dbname=postgres user=postgres"

    def init(self) -> None:
        self.procs.run(
            "initdb",
            _as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--no-sync"]
            ),
            START_TIMEOUT,
        )  # fmt: skip

    def start(self) -> None:
        self.child = self.procs.spawn(
            "postgres",
            _as_postgres(
                [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-k", str(self.root), "-c", "listen_addresses=", "-c", "max_connections=200"]
            ),
        )  # fmt: skip
        wait_until(self.answers, START_TIMEOUT, "the private PostgreSQL")

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def restart(self) -> None:
        """What an operator's `pg_ctl restart -m fast` does: sessions cut, then up again."""
        stop = [str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"]
        self.procs.run("pg_ctl-stop", _as_postgres(stop), START_TIMEOUT)
        if self.child is not None:
            self.procs.stop([self.child])
        self.start()

    def close(self) -> None:
        if self.child is not None:
            self.procs.stop([self.child])
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """`redis-server` on a free port, no persistence, `noeviction` as the README asks."""

    def __init__(self, procs: Processes) -> None:
        self.procs = procs
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-redis-"))
        self.port = free_port()
        self.child: Child | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.child = self.procs.spawn(
            "redis",
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--dir", str(self.dir),
             "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"],
        )  # fmt: skip
        wait_until(self.answers, START_TIMEOUT, "the private Redis")

    def answers(self) -> bool:
        client = redis_lib.Redis.from_url(self.url, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis_lib.RedisError:
            return False
        finally:
            client.close()

    def restart(self) -> None:
        """SIGTERM (a clean shutdown, which saves nothing here), then start it again."""
        if self.child is not None:
            self.procs.stop([self.child])
        self.start()

    def close(self) -> None:
        if self.child is not None:
            self.procs.stop([self.child])
        shutil.rmtree(self.dir, ignore_errors=True)


# -- restart on death, as systemd's Restart=always does ------------------------------------------


@dataclass
class Restart:
    name: str
    died_at: float  # wall clock
    restarted_at: float


@dataclass
class Supervised:
    name: str
    start: Callable[[], Child]
    child: Child | None = None
    restarts: list[Restart] = field(default_factory=list)


class Supervisor:
    """Polls its children; when one's main process is gone, stops the rest of its process group
    (systemd's KillMode=control-group) and starts it again after `restart_sec`."""

    def __init__(self, procs: Processes, restart_sec: float = 1.0) -> None:
        self.procs = procs
        self.restart_sec = restart_sec
        self.units: dict[str, Supervised] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def add(self, name: str, start: Callable[[], Child]) -> Supervised:
        unit = Supervised(name, start, start())
        with self._lock:
            self.units[name] = unit
        return unit

    def kill(self, name: str) -> float:
        """kill -9 the unit's whole process group (the main process and its pool) at once."""
        with self._lock:
            child = self.units[name].child
        if child is None:
            raise BenchError(f"{name} is not running")
        killed_at = time.time()
        os.killpg(child.pid, signal.SIGKILL)
        return killed_at

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                units = list(self.units.values())
            for unit in units:
                if unit.child is None or unit.child.alive():
                    continue
                died_at = time.time()
                with self._lock:
                    self.procs.stop([unit.child])
                    if self._stop.wait(self.restart_sec):
                        return
                    unit.child = unit.start()
                unit.restarts.append(Restart(unit.name, died_at, time.time()))

    def close(self) -> None:
        """Stop supervising (the children stay: `Processes.close()` stops them)."""
        self._stop.set()
        self._thread.join(timeout=5)


def gunicorn_workers(master_pid: int) -> list[int]:
    """The worker processes of a gunicorn master."""
    try:
        return [p.pid for p in psutil.Process(master_pid).children()]
    except psutil.Error:
        return []
