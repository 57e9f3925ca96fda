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
