"""Rate limits that cost one Redis round trip per request, whatever the number of limits.

A request names the limits it falls under, each with whom it counts (an IP, a hashed address) and
its windows in the `limits` package's notation (`"20 per minute; 200 per hour"`). One script
keeps, per limit and window, the times of the requests let through in the last window (a sorted
set: a sliding window, exact); a request is let through only if every window has room, and is
then counted in all of them. A fixed-window counter would let twice the limit through across a
window's boundary (the end of one minute and the start of the next). All web workers share the
sets, and Redis's clock is the one clock. Over a limit, the view answers 429 (the friendly page
of `core.errors`). Signing checks three windows with every POST, in one round trip; a
general-purpose limiter such as Flask-Limiter makes one per window and runs a hook on every
request, limited or not.

If Redis cannot be reached the request is let through: the limits protect the platform, and a
person signing must never see an error because a counter is down.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from flask import abort, current_app, request
from limits import parse_many

from campaigns.core.redis import get_redis, key

log = logging.getLogger(__name__)

# KEYS: one sorted set per window; ARGV: each window's length in seconds, then each one's limit,
# then a member unique to this request. Returns how many windows were full (0: let through).
_COUNT = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local n = #KEYS
local full = 0
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - tonumber(ARGV[i]) * 1000000)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[n + i]) then full = full + 1 end
end
if full == 0 then
  for i = 1, n do
    redis.call('ZADD', KEYS[i], now, ARGV[2 * n + 1])
    redis.call('EXPIRE', KEYS[i], ARGV[i])
  end
end
return full
"""


@lru_cache(maxsize=32)
def windows(limits: str) -> tuple[tuple[int, int], ...]:
    """`"20 per minute; 200 per hour"` -> ((60, 20), (3600, 200))."""
    return tuple((item.get_expiry(), item.amount) for item in parse_many(limits))


def check_settings(config: dict, names: tuple[str, ...]) -> None:
    """Refuse to start with a limit that cannot be read (rather than fail every request)."""
    for name in names:
        try:
            windows(config[name])
        except ValueError:
            raise RuntimeError(
                f"{name}={config[name]!r} is not a rate limit such as "
                "'20 per minute; 200 per hour': see README.md, Configuration"
            ) from None


def over_limit(*limits: tuple[str, str, str]) -> bool:
    """Count this request under each `(name, who, windows)`; True if any window is exceeded."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return False
    keys, seconds, amounts = [], [], []
    for name, who, notation in limits:
        for length, amount in windows(notation):
            # The limit is part of the key: a changed limit counts afresh.
            keys.append(key("ratelimit", name, who, f"{amount}/{length}"))
            seconds.append(length)
            amounts.append(amount)
    client = get_redis()
    script = current_app.extensions.get("ratelimit_script")
    if script is None:
        script = current_app.extensions["ratelimit_script"] = client.register_script(_COUNT)
    try:
        return int(script(keys=keys, args=[*seconds, *amounts, secrets.token_hex(8)])) > 0
    except redis.RedisError as exc:
        log.warning("rate limits not checked, Redis unreachable: %s", exc)
        return False


def limit_posts(name: str, setting: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view: its POSTs count per IP against the limits in `config[setting]`, shared by
    every view decorated with the same `name`; over them, 429."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            if request.method == "POST" and over_limit(
                (name, request.remote_addr or "", current_app.config[setting])
            ):
                abort(429)
            return view(*args, **kwargs)

        return limited

    return decorate


# One window, with what is left of it: KEYS[1] the sorted set; ARGV: the window in seconds, the
# limit, a member unique to this request. Returns {let through (1/0), requests now counted in
# the window, microseconds until the oldest of them leaves it}.
_QUOTA = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local window = tonumber(ARGV[1]) * 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = 0
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, count, reset}
"""


@dataclass(frozen=True)
class Quota:
    """What one request left of a limit, for the `RateLimit` headers of an API answer."""

    allowed: bool
    limit: int
    window: int  # seconds
    remaining: int
    reset: int  # seconds until a request more fits

    def headers(self, policy: str) -> dict[str, str]:
        """`RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers), plus
        `Retry-After` when this request was refused."""
        headers = {
            "RateLimit-Policy": f'"{policy}";q={self.limit};w={self.window}',
            "RateLimit": f'"{policy}";r={self.remaining};t={self.reset}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(self.reset, 1))
        return headers


def take_quota(name: str, who: str, notation: str) -> Quota:
    """Count a request under the first window of `notation` for `who`, and say what is left.
    Unlimited (and uncounted) when limits are off or Redis cannot be reached."""
    length, amount = windows(notation)[0]
    if not current_app.config["RATELIMIT_ENABLED"]:
        return Quota(True, amount, length, amount, 0)
    client = get_redis()
    script = current_app.extensions.get("ratelimit_quota_script")
    if script is None:
        script = current_app.extensions["ratelimit_quota_script"] = client.register_script(_QUOTA)
    try:
        allowed, count, reset_us = script(
            keys=[key("ratelimit", name, who, f"{amount}/{length}")],
            args=[length, amount, secrets.token_hex(8)],
        )
    except redis.RedisError as exc:
        log.warning("rate limits not checked, Redis unreachable: %s", exc)
        return Quota(True, amount, length, amount, 0)
    reset = -(-int(reset_us) // 1_000_000)  # whole seconds, rounded up
    return Quota(bool(allowed), amount, length, max(amount - int(count), 0), max(reset, 0))
