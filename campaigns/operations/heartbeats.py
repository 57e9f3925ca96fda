"""Who is alive: each Celery worker says which queues it serves, and beat when it last ticked, in
Redis keys that lapse when they stop being written.

Every WORKER_BEAT_INTERVAL seconds a worker (its main process, on the worker's own timer: a worker
whose event loop is stuck stops beating too) puts its node name into a sorted set per queue it
consumes, scored with the time. Readers count the names seen within WORKER_SEEN_WINDOW; the set
expires a window after its last write, and a worker that stops cleanly takes its name out at once.

Beat records the time of each tick and how long it means to sleep before the next, so a reader can
tell a beat that is late from one that merely has nothing due.

The writers run outside any Flask app: they reach Redis through the Celery app's broker URL and key
prefix, which `core.tasks.celery_settings` sets from REDIS_URL and REDIS_KEY_PREFIX, the same
server and prefix the readers use. `celery_worker.py` installs both (`install`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import redis
from celery import Celery, bootsteps
from celery.beat import PersistentScheduler

log = logging.getLogger(__name__)

WORKER_BEAT_INTERVAL = 15.0  # seconds
WORKER_SEEN_WINDOW = 60  # seconds: "seen in the last minute"
BEAT_KEY_TTL = 24 * 3600  # a beat stopped for longer than this reads as never seen


def workers_key(prefix: str, queue: str) -> str:
    return f"{prefix}heartbeat:workers:{queue}"


def beat_key(prefix: str) -> str:
    return f"{prefix}heartbeat:beat"


def record_worker(
    client: redis.Redis, prefix: str, queues: Iterable[str], node: str, now: float
) -> None:
    """`node` serves `queues` at `now`; names not seen for a window are dropped on the way."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        name = workers_key(prefix, queue)
        pipe.zadd(name, {node: now})
        pipe.zremrangebyscore(name, "-inf", now - WORKER_SEEN_WINDOW)
        pipe.expire(name, WORKER_SEEN_WINDOW)
    pipe.execute()


def forget_worker(client: redis.Redis, prefix: str, queues: Iterable[str], node: str) -> None:
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zrem(workers_key(prefix, queue), node)
    pipe.execute()


def workers_seen(
    client: redis.Redis, prefix: str, queues: Iterable[str], now: float
) -> dict[str, list[str]]:
    """Queue -> the node names of the workers that served it within the last window."""
    queues = list(queues)
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zrangebyscore(workers_key(prefix, queue), now - WORKER_SEEN_WINDOW, "+inf")
    return {
        queue: sorted(_text(node) for node in nodes)
        for queue, nodes in zip(queues, pipe.execute(), strict=True)
    }


def record_beat_tick(client: redis.Redis, prefix: str, now: float, next_in: float) -> None:
    client.set(beat_key(prefix), json.dumps({"at": now, "next_in": next_in}), ex=BEAT_KEY_TTL)


def last_beat_tick(client: redis.Redis, prefix: str) -> tuple[float, float] | None:
    """(time of beat's last tick, seconds it then meant to sleep), or None if never seen."""
    raw = client.get(beat_key(prefix))
    if raw is None:
        return None
    data = json.loads(raw)
    return float(data["at"]), float(data["next_in"])


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def broker_redis(app: Celery) -> tuple[redis.Redis, str]:
    """A client of the broker's Redis, with short timeouts, and the key prefix."""
    client = redis.Redis.from_url(
        app.conf.broker_url, socket_connect_timeout=1, socket_timeout=1, decode_responses=True
    )
    prefix = (app.conf.broker_transport_options or {}).get("global_keyprefix", "")
    return client, prefix


class WorkerHeartbeat(bootsteps.StartStopStep):
    """A worker bootstep: beat now and every WORKER_BEAT_INTERVAL on the worker's timer."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None
        self.failing = False

    def start(self, worker: Any) -> None:
        self.client, self.prefix = broker_redis(worker.app)
        self.node = worker.hostname
        self.queues = sorted(worker.app.amqp.queues.consume_from)
        self.beat()
        self.tref = worker.timer.call_repeatedly(WORKER_BEAT_INTERVAL, self.beat, priority=10)

    def beat(self) -> None:
        try:
            record_worker(self.client, self.prefix, self.queues, self.node, time.time())
        except redis.RedisError as exc:
            # Once per outage: the broker's own reconnection messages say the rest.
            if not self.failing:
                log.warning("worker heartbeat not written: %s", exc)
            self.failing = True
            return
        self.failing = False

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
            # If Redis is away, the names lapse on their own within a window.
            with contextlib.suppress(redis.RedisError):
                forget_worker(self.client, self.prefix, self.queues, self.node)


class RecordingScheduler(PersistentScheduler):
    """Celery's default scheduler (the schedule file of `--schedule`) that also records each tick."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        next_in = super().tick(*args, **kwargs)
        try:
            if not hasattr(self, "_redis"):
                self._redis = broker_redis(self.app)
            record_beat_tick(*self._redis, time.time(), next_in)
        except redis.RedisError as exc:
            log.warning("beat's tick not recorded: %s", exc)
        return next_in


def install(app: Celery) -> None:
    """Make this Celery app's workers beat and its beat record its ticks."""
    app.steps["worker"].add(WorkerHeartbeat)
    app.conf.beat_scheduler = f"{__name__}:RecordingScheduler"
