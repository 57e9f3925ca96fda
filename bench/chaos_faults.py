"""What the chaos suite breaks, and when.

During the journeys, a thread works through `JOURNEY_FAULTS` at fixed shares of the run's length
(so the small mode breaks the same things in the same order, sooner). During the mailing, the bulk
worker is killed each time another sixth of the audience has arrived at the sink, so every kill
falls while mail is going out, however fast the machine sends it. Each fault is recorded with when
it happened and when the part broken was back (its own readiness, not the app's: the figures of
the app's recovery are read off the journeys and the sink afterwards).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.chaos_stack import ChaosStack
from bench.maillog import MailLog
from bench.procs import wait_until

BACK_TIMEOUT = 90.0


@dataclass
class Fault:
    name: str
    at: float  # wall clock when it was done
    back_at: float  # wall clock when the part broken was ready again
    detail: str = ""

    @property
    def down_s(self) -> float:
        return self.back_at - self.at


def _kill_gunicorn_worker(stack: ChaosStack) -> Fault:
    at = time.time()
    pid = stack.kill_gunicorn_worker()
    wait_until(lambda: stack.gunicorn_back(pid), BACK_TIMEOUT, "gunicorn's new worker")
    return Fault(
        "kill -9 a gunicorn worker", at, time.time(), f"pid {pid}; the master forks another"
    )


def _kill_celery_worker(stack: ChaosStack) -> Fault:
    unit = stack.supervisor.units["celery"]
    before = len(unit.restarts)
    at = stack.supervisor.kill("celery")
    wait_until(lambda: len(unit.restarts) > before, BACK_TIMEOUT, "the Celery worker's restart")
    return Fault(
        "kill -9 the Celery worker (all its processes)",
        at,
        unit.restarts[-1].restarted_at,
        f"restarted {stack.supervisor.restart_sec:.0f} s after its death, as systemd would",
    )


def _restart_redis(stack: ChaosStack) -> Fault:
    at = time.time()
    stack.redis.restart()
    return Fault("restart Redis (no persistence: queues lost)", at, time.time())


def _restart_postgres(stack: ChaosStack) -> Fault:
    at = time.time()
    stack.postgres.restart()
    return Fault("restart PostgreSQL (pg_ctl stop -m fast, start)", at, time.time())


# (share of the journeys' duration, what to do)
JOURNEY_FAULTS: list[tuple[float, Callable[[ChaosStack], Fault]]] = [
    (0.10, _kill_gunicorn_worker),
    (0.25, _kill_celery_worker),
    (0.45, _restart_redis),
    (0.65, _restart_postgres),
]


class FaultSchedule:
    """Runs `JOURNEY_FAULTS` in a thread, from `start()` over `duration_s`."""

    def __init__(self, stack: ChaosStack, duration_s: float) -> None:
        self.stack = stack
        self.duration_s = duration_s
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="faults", daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.time()
        self._thread.start()

    def _run(self) -> None:
        for share, fault in JOURNEY_FAULTS:
            delay = self._started + share * self.duration_s - time.time()
            if delay > 0:
                time.sleep(delay)
            try:
                self.faults.append(fault(self.stack))
            except Exception as exc:  # noqa: BLE001 - report it, go on with the next fault
                self.errors.append(f"{fault.__name__}: {exc}")

    def join(self) -> None:
        self._thread.join(timeout=BACK_TIMEOUT * len(JOURNEY_FAULTS))


def kill_bulk_worker_during(
    stack: ChaosStack, total: int, kills: int, timeout: float
) -> list[Fault]:
    """kill -9 the bulk worker each time another 1/(kills + 1) of `total` messages has arrived
    at the sink (a fresh MailLog: the mailing's messages only); returns the kills."""
    log = MailLog(stack.mail_log)
    log.poll()
    base = log.count
    unit = stack.supervisor.units["bulk"]
    faults: list[Fault] = []
    deadline = time.monotonic() + timeout
    for k in range(1, kills + 1):
        threshold = base + total * k // (kills + 1)
        while log.poll() < threshold:
            if time.monotonic() > deadline:
                return faults
            time.sleep(0.05)
        before = len(unit.restarts)
        at = stack.supervisor.kill("bulk")
        wait_until(lambda b=before: len(unit.restarts) > b, BACK_TIMEOUT, "the bulk worker")
        faults.append(
            Fault(
                f"kill -9 the bulk worker ({k} of {kills})",
                at,
                unit.restarts[-1].restarted_at,
                f"after {log.count - base:,} messages",
            )
        )
    return faults
