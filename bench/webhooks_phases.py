"""The webhook benchmark's phases: milestones recorded one every `interval` seconds as the
tallies code records them, the wait until every message reached its receiver, what the
database says happened to each, and the worker's memory sampled meanwhile."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psutil

from bench.lobbying_sending import CpuSampler
from bench.mailing import sql_text
from bench.procs import Child, Processes

if TYPE_CHECKING:
    from flask import Flask

    from bench.webhooks_receivers import Receiver

# Seconds to keep listening once everything arrived: a message sent twice would arrive now.
SETTLE_SECONDS = 2.0


# -- memory ----------------------------------------------------------------------------------------


class MemoryTimeline:
    """RSS of the workers' processes every `every` seconds, in a thread of its own, each sample
    tagged with the phase running: the pool processes (which send) and the parents apart."""

    def __init__(self, worker_pids: list[int], every: float = 0.5) -> None:
        self.parents = [psutil.Process(pid) for pid in worker_pids]
        self.every = every
        self.phase = "start"
        # (time.time(), phase, {pool pid: rss}, parent rss)
        self.samples: list[tuple[float, str, dict[int, int], int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def sample(self) -> None:
        pool: dict[int, int] = {}
        parent_rss = 0
        for parent in self.parents:
            try:
                parent_rss = max(parent_rss, parent.memory_info().rss)
                children = parent.children(recursive=True)
            except psutil.Error:
                continue
            for child in children:
                try:
                    pool[child.pid] = child.memory_info().rss
                except psutil.Error:
                    continue
        self.samples.append((time.time(), self.phase, pool, parent_rss))

    def of(self, phase: str) -> dict[str, float]:
        """Start, peak and end of the largest pool process (MB) during `phase`, the number of
        pool processes seen, and the parent's peak."""
        mine = [s for s in self.samples if s[1] == phase and s[2]]
        if not mine:
            return {}

        def largest(sample: tuple[float, str, dict[int, int], int]) -> float:
            return max(sample[2].values()) / 2**20

        return {
            "start_mb": largest(mine[0]),
            "peak_mb": max(largest(s) for s in mine),
            "end_mb": largest(mine[-1]),
            "sum_peak_mb": max(sum(s[2].values()) for s in mine) / 2**20,
            "parent_peak_mb": max(s[3] for s in mine) / 2**20,
            "pool_pids": len({pid for s in mine for pid in s[2]}),
            "samples": len(mine),
        }

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# -- the worker's log ------------------------------------------------------------------------------

TASK_DONE = re.compile(
    r"Task (webhooks\.send_due|webhooks\.tick|events\.dispatch)\[[^\]]+\] succeeded in ([\d.]+)s"
)


def task_times(workers: list[Child], offsets: dict[str, int]) -> dict[str, list[float]]:
    """Seconds each task run took, by name, from the workers' INFO logs since `offsets` (by
    worker name, moved on to the end)."""
    found: dict[str, list[float]] = {}
    for worker in workers:
        with open(worker.log_path, "rb") as fh:
            fh.seek(offsets.get(worker.name, 0))
            data = fh.read()
        offsets[worker.name] = offsets.get(worker.name, 0) + len(data)
        for name, took in TASK_DONE.findall(data.decode("utf-8", "replace")):
            found.setdefault(name, []).append(float(took))
    return found


# -- one phase -------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    slow_delay: float
    thresholds: list[int]
    committed: dict[int, float] = field(default_factory=dict)  # threshold -> time.time()
    fire_ms: list[float] = field(default_factory=list)  # recording + commit + publish
    complete: bool = False
    waited_s: float = 0.0
    results: dict = field(default_factory=dict)


def fire(app: Flask, petition_id: int, threshold: int) -> tuple[float, float]:
    """Record the milestone and its event as `tallies.services.record_milestones` does (a
    savepoint with the Milestone row and the outbox event), then commit as the tallies task
    does. Returns the time just before the commit (the event's moment: it is visible from
    then on) and how long recording and committing took (ms)."""
    from campaigns.core.events import record_event
    from campaigns.extensions import db
    from campaigns.petitions.tallies.models import Milestone

    started = time.perf_counter()
    with app.app_context():
        with db.session.begin_nested():
            db.session.add(Milestone(petition_id=petition_id, threshold=threshold, kind="count"))
            record_event(
                "petition.milestone_reached",
                petition_id=petition_id,
                threshold=threshold,
                kind="count",
            )
        before_commit = time.time()
        db.session.commit()  # publishes events.dispatch once committed
        db.session.remove()
    return before_commit, 1000 * (time.perf_counter() - started)


def unsettled(app: Flask) -> int:
    """Webhook deliveries not delivered yet (pending or in flight)."""
    from campaigns.extensions import db

    with app.app_context():
        found = db.session.scalar(
            sql_text(
                "SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'sending')"
            )
        )
        db.session.remove()
    return int(found)


def run_phase(
    app: Flask,
    procs: Processes,
    receivers: dict[str, Receiver],
    memory: MemoryTimeline,
    petition_id: int,
    phase: Phase,
    *,
    networks: int,
    interval: float,
    timeout: float,
    groups: dict[str, int],
) -> None:
    """Fire the phase's milestones at their times, then wait until both receivers have every
    message and the database nothing unsettled (or `timeout` after the last milestone)."""
    receivers["slow"].delay = phase.slow_delay
    before = {kind: r.count() for kind, r in receivers.items()}
    for r in receivers.values():
        r.reset_gauge()
    memory.phase = phase.name
    cpu = CpuSampler(groups)
    start = time.monotonic()
    for n, threshold in enumerate(phase.thresholds):
        pause = start + n * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        procs.check()
        phase.committed[threshold], took = fire(app, petition_id, threshold)
        phase.fire_ms.append(took)
    expected = len(phase.thresholds) * networks
    last_fired = time.monotonic()
    while time.monotonic() - last_fired < timeout:
        procs.check()
        arrived = all(r.count() - before[k] >= expected for k, r in receivers.items())
        if arrived and unsettled(app) == 0:
            phase.complete = True
            break
        time.sleep(0.25)
    phase.waited_s = time.monotonic() - last_fired
    time.sleep(SETTLE_SECONDS)
    phase.results["cores"] = cpu.cores()
    phase.results["max_in_flight"] = {k: r.max_in_flight for k, r in receivers.items()}
    phase.results["received"] = [
        item for kind, r in receivers.items() for item in r.log[before[kind] :]
    ]


# -- what the database says -----------------------------------------------------------------------


def alert_times(app: Flask, petition_id: int, thresholds: list[int]) -> dict[str, dict]:
    """webhook-id -> {threshold, network, made}: each alert of these milestones, when its
    handler made it (time.time() scale)."""
    from campaigns.extensions import db

    occasions = {f"milestone:{petition_id}:{t}": t for t in thresholds}
    with app.app_context():
        rows = db.session.execute(
            sql_text(
                "SELECT a.message_id, a.occasion, n.slug, a.created_at FROM alerts a"
                " JOIN networks n ON n.id = a.network_id WHERE a.occasion = ANY(:occasions)"
            ),
            {"occasions": list(occasions)},
        ).all()
        db.session.remove()
    return {
        message_id: {"threshold": occasions[occasion], "network": slug, "made": made.timestamp()}
        for message_id, occasion, slug, made in rows
    }


def delivery_facts(app: Flask, message_ids: list[str]) -> dict:
    """For these messages: each delivery's status and attempts, the first attempt's start per
    (webhook-id, receiver kind), and how many attempts there were in all."""
    from campaigns.extensions import db

    with app.app_context():
        rows = db.session.execute(
            sql_text(
                "SELECT d.message_id, e.description, d.status, d.attempts,"
                " (SELECT min(a.attempted_at) FROM webhook_attempts a WHERE a.delivery_id = d.id),"
                " (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id)"
                " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
                " WHERE d.message_id = ANY(:ids)"
            ),
            {"ids": message_ids},
        ).all()
        db.session.remove()
    first_attempt = {}
    statuses: Counter[str] = Counter()
    attempts = logged = 0
    for message_id, kind, status, tries, attempted_at, log_rows in rows:
        statuses[str(status)] += 1
        attempts += int(tries)
        logged += int(log_rows)
        if attempted_at is not None:
            first_attempt[(message_id, kind)] = attempted_at.timestamp()
    return {
        "deliveries": len(rows),
        "statuses": dict(statuses),
        "attempts": attempts,
        "attempts_logged": logged,
        "first_attempt": first_attempt,
    }
