"""The lobbying benchmark's sending: the SMTP sink, the smtplib ceiling, the platform (a Celery
worker and beat) until the sink holds every letter, and the CPU and memory of the processes
meanwhile."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import smtplib
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cpu import _machine_busy, _stat
from bench.lobbying_data import TEST_INBOX
from bench.mailing import REDIS_URL, MemoryWatch, sql_text
from bench.procs import HOST, BenchError, Child, Processes, free_port, venv_bin, wait_until
from bench.report import median

if TYPE_CHECKING:
    from flask import Flask

# Who used the CPU while the platform sent (process groups we started, PostgreSQL, Redis).
ROLES = ("worker", "postgres", "sink", "redis", "beat", "bench")


# -- CPU ------------------------------------------------------------------------------------------


class CpuSampler:
    """CPU seconds per role, sampled process by process (bench/cpu.py's readings of /proc): each
    process counts from the first sample, or from 0 if it started later, up to its last sample.
    A process that ends between two samples (an autovacuum worker after the bulk load) thus
    keeps what it used, where a difference of per-role totals would lose it."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.roles = {pgid: role for role, pgid in groups.items()}
        self.redis_port = f":{REDIS_URL.rsplit(':', 1)[-1].split('/')[0]}"
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.started = time.monotonic()
        self.machine = _machine_busy()
        self.own = sum(os.times()[:2])
        self.sample(initial=True)

    def _role(self, entry: Path, comm: str, pgrp: int) -> str | None:
        role = self.roles.get(pgrp)
        if role is None and comm.startswith("postgres"):
            return "postgres"
        if role is None and comm.startswith("redis-server"):
            with contextlib.suppress(OSError):
                if self.redis_port in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    return "redis"
        return role

    def sample(self, initial: bool = False) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            stat = _stat(entry)
            if stat is None:
                continue
            comm, pgrp, seconds = stat
            role = self._role(entry, comm, pgrp)
            if role is None:
                continue
            pid = int(entry.name)
            if initial:
                self.first[pid] = seconds
            self.last[pid] = (role, seconds)

    def cores(self) -> dict[str, float]:
        """Cores used per role since the start (1.0 = one core busy), and `other`: everything
        the machine did for anybody else."""
        self.sample()
        wall = time.monotonic() - self.started
        used: dict[str, float] = {"bench": sum(os.times()[:2]) - self.own}
        for pid, (role, seconds) in self.last.items():
            used[role] = used.get(role, 0.0) + seconds - self.first.get(pid, 0.0)
        cores = {role: seconds / wall for role, seconds in used.items()}
        cores["other"] = max(0.0, (_machine_busy() - self.machine) / wall - sum(cores.values()))
        cores["wall"] = wall
        return cores


# -- the SMTP sink --------------------------------------------------------------------------------


class Sink:
    """bench/sink.py, and its log read as it grows: arrival times and envelope recipients."""

    def __init__(self, procs: Processes, workdir: Path) -> None:
        self.port = free_port()
        self.path = workdir / "sink.tsv"
        self.path.touch()
        self.child = procs.spawn(
            "sink",
            [sys.executable, "-m", "bench.sink", "--port", str(self.port), "--out", str(self.path)],
        )
        self._offset = 0
        self.times: list[float] = []
        self.recipients: list[str] = []
        wait_until(self._answers, 20, "the SMTP sink", procs)

    def _answers(self) -> bool:
        try:
            smtplib.SMTP(HOST, self.port, timeout=1).quit()
            return True
        except OSError:
            return False

    def poll(self) -> int:
        """Read what arrived since the last call; returns how many messages arrived in all."""
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].decode("utf-8").splitlines():
            arrived, _, recipients = line.partition("\t")
            self.times.append(float(arrived))
            self.recipients.append(recipients)
        return len(self.times)


def ceiling(sink: Sink, sender: str, message: bytes, count: int) -> tuple[float, dict]:
    """Messages per second of a bare smtplib loop over one connection (to the test inbox), and
    the cores used meanwhile."""
    before = sink.poll()
    cpu = CpuSampler({"sink": sink.child.pid})
    smtp = smtplib.SMTP(HOST, sink.port)
    start = time.time()
    for _ in range(count):
        smtp.sendmail(sender, [TEST_INBOX], message)
    smtp.quit()
    wait_until(lambda: sink.poll() >= before + count, 60, "the ceiling's messages")
    cores = cpu.cores()
    return count / (sink.times[before + count - 1] - start), cores


# -- the platform sending -----------------------------------------------------------------------------


def sample_letter(app: Flask) -> tuple[str, bytes]:
    """One delivery's email as the platform builds it (test mode): the ceiling sends copies."""
    from sqlalchemy import select

    from campaigns.core.mime import sender_address
    from campaigns.extensions import db
    from campaigns.lobbying.message import letter_email
    from campaigns.lobbying.models import LetterDelivery

    with app.app_context(), app.test_request_context():
        delivery = db.session.scalars(select(LetterDelivery).order_by(LetterDelivery.id)).first()
        email, test_mode = letter_email(delivery)
        if not test_mode or email.envelope_to != TEST_INBOX:
            raise BenchError(f"a letter would go to {email.envelope_to}, not the test inbox")
        return sender_address(email.sender), email.as_bytes()


def delivery_states(app: Flask) -> dict[str, int]:
    from campaigns.extensions import db

    with app.app_context():
        rows = db.session.execute(
            sql_text(
                "SELECT status || CASE WHEN test_mode THEN ' (test)' WHEN test_mode IS NULL"
                " THEN '' ELSE ' (LIVE)' END, count(*) FROM letter_deliveries GROUP BY 1"
            )
        ).all()
        sent_mails = db.session.scalar(
            sql_text("SELECT count(*) FROM sent_mails WHERE template = 'lobbying/letter'")
        )
    return {**dict(rows), "sent_mails rows": sent_mails}


ROUND = re.compile(r"letters: (\d+) sent, (\d+) failed")
TASK_DONE = re.compile(r"Task lobbying\.tick\[[^\]]+\] succeeded in ([\d.]+)s")


def worker_log_stats(worker: Child) -> dict[str, float]:
    """From the worker's INFO log: letters per tick round, and lobbying.tick tasks run."""
    text = worker.log_path.read_text(errors="replace")
    rounds = [int(m[1]) for m in ROUND.finditer(text)]
    tasks = [float(m[1]) for m in TASK_DONE.finditer(text)]
    return {
        "rounds": len(rounds),
        "per_round_median": median(rounds),
        "per_round_max": max(rounds, default=0),
        "tasks": len(tasks),
        "task_max_s": max(tasks, default=0.0),
    }


def send_with_platform(
    procs: Processes,
    sink: Sink,
    env: dict[str, str],
    workdir: Path,
    size: int,
    args: argparse.Namespace,
    release: Callable[[], None],
) -> dict:
    """Start a worker and beat, let beat tick once on nothing due, then release the letters and
    tick (`release()`) and time from there until the sink holds all of them."""
    worker = procs.spawn(
        f"worker-{size}",
        [
            venv_bin("celery"),
            "-A",
            "celery_worker",
            "worker",
            "-Q",
            "default",
            "--concurrency",
            str(args.concurrency),
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"lobbying{size}@%h",
            "--loglevel",
            "INFO",
        ],
        env=env,
    )
    wait_until(lambda: " ready." in worker.tail(200), 60, "the Celery worker", procs)
    watch = MemoryWatch([worker.pid])
    watch.sample()
    before = sink.poll()
    beat = procs.spawn(
        f"beat-{size}",
        [
            venv_bin("celery"),
            "-A",
            "celery_worker",
            "beat",
            "--schedule",
            str(workdir / f"celerybeat-schedule-{size}"),
            "--loglevel",
            "INFO",
        ],
        env=env,
    )
    wait_until(
        lambda: "lobbying.tick" in worker.tail(400) and "succeeded" in worker.tail(400),
        60,
        "beat's first tick",
        procs,
    )
    release()
    start = time.time()
    cpu = CpuSampler({"worker": worker.pid, "beat": beat.pid, "sink": sink.child.pid})
    deadline = start + args.send_timeout
    samples = 0
    while sink.poll() < before + size:
        procs.check()
        watch.sample()
        samples += 1
        if samples % 4 == 0:
            cpu.sample()
        if time.time() > deadline:
            break
        time.sleep(0.25)
    cores = cpu.cores()
    arrived = sink.poll() - before
    end = sink.times[-1] if arrived >= size else time.time()
    procs.stop([beat])
    time.sleep(1.5)  # anything sent twice would arrive now
    watch.sample()
    arrived = sink.poll() - before
    procs.stop([worker])
    recipients = Counter(r for line in sink.recipients[before:] for r in line.split(","))
    children = {pid: rss for pid, rss in watch.peaks.items() if pid != worker.pid}
    return {
        "arrived": arrived,
        "complete": arrived >= size,
        "elapsed": end - start,
        "first_after": sink.times[before] - start if arrived else float("nan"),
        "rate": min(arrived, size) / (end - start),
        "steady_rate": (min(arrived, size) - 1) / (end - sink.times[before])
        if arrived > 1
        else float("nan"),
        "recipients": recipients,
        "sending_peak_mb": max(children.values(), default=0) / 2**20,
        "sending_peaks_mb": sorted((v / 2**20 for v in children.values()), reverse=True),
        "parent_peak_mb": watch.peaks.get(worker.pid, 0) / 2**20,
        "cores": cores,
        "log": worker_log_stats(worker),
    }
