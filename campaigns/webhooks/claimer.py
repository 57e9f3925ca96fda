"""One claimer of due webhook messages at a time, across every worker process.

`delivery.send_due` claims new work for a budget of seconds, then stops claiming and waits for
its last requests, up to WEBHOOK_TIMEOUT when a receiver is slow. Were several runs to claim side
by side, all of them could be in that waiting stretch at once, and nobody would claim: a
milestone then waited for the slow receivers of the one before (measured: p95 2.9-4.4 s instead of
0.3 s; bench/RESULTS.md). So a run claims only while it holds this lock; a run that finds it held
returns at once, since the holder looks for new work every `delivery.POLL_SECONDS` anyway; and the
holder hands over, releasing the lock and publishing a successor, the moment it stops claiming.

The lock is a convenience, not what keeps an attempt from being posted twice (the conditional
claim in `delivery.claim` does that): if Redis cannot be reached, every run claims as before.
"""

from __future__ import annotations

import logging
import uuid

import redis

from campaigns.core.redis import get_redis, key

log = logging.getLogger(__name__)

# Deletes the lock only if it is still ours (it may have expired and been taken by another run).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A holder killed mid-run leaves the lock to expire this long after its budget; beat's tick
# then takes over.
_EXPIRY_MARGIN_SECONDS = 10


class ClaimerLock:
    def __init__(self, budget: float) -> None:
        self.key = key("webhooks", "claimer")
        self.token = uuid.uuid4().hex
        self.seconds = int(budget) + _EXPIRY_MARGIN_SECONDS
        self.held = False

    def acquire(self) -> bool:
        """Whether this run may claim: it took the lock, or Redis is unreachable."""
        try:
            self.held = bool(get_redis().set(self.key, self.token, nx=True, ex=self.seconds))
        except redis.RedisError as exc:
            log.warning("webhook claimer lock not taken, Redis unreachable: %s", exc)
            return True
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            get_redis().eval(_RELEASE, 1, self.key, self.token)
        except redis.RedisError as exc:  # it expires by itself
            log.warning("webhook claimer lock not released, Redis unreachable: %s", exc)
