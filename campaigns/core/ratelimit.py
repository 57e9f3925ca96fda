"""Rate limits that cost one Redis round trip per request, whatever the number of limits.

A request names the limits it falls under, each with whom it counts (an IP, a hashed address) and
its windows in Flask-Limiter's notation (`"20 per minute; 200 per hour"`). One script counts the
request in a fixed-window counter per window and says whether any went over. Flask-Limiter (used
for the staff sign-in) would make one round trip per window; signing is the hottest POST and
checks three windows.

If Redis cannot be reached the request is let through: the limits protect the platform, and a
person signing must never see an error because a counter is down.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

import redis
from flask import current_app
from limits import parse_many

from campaigns.core.redis import get_redis, key

log = logging.getLogger(__name__)

# KEYS: one counter per window; ARGV: each window's length in seconds, then each one's limit.
# Returns how many counters went over their limit.
_COUNT = """
local n = #KEYS
local over = 0
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[i]) end
  if count > tonumber(ARGV[n + i]) then over = over + 1 end
end
return over
"""


@lru_cache(maxsize=32)
def windows(limits: str) -> tuple[tuple[int, int], ...]:
    """`"20 per minute; 200 per hour"` -> ((60, 20), (3600, 200))."""
    return tuple((item.get_expiry(), item.amount) for item in parse_many(limits))


def over_limit(*limits: tuple[str, str, str]) -> bool:
    """Count this request under each `(name, who, windows)`; True if any window is exceeded."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return False
    now = int(time.time())
    keys, seconds, amounts = [], [], []
    for name, who, notation in limits:
        for length, amount in windows(notation):
            # The limit is part of the key, as with Flask-Limiter: a new limit counts afresh.
            keys.append(key("ratelimit", name, who, f"{amount}/{length}", now // length))
            seconds.append(length)
            amounts.append(amount)
    client = get_redis()
    script = current_app.extensions.get("ratelimit_script")
    if script is None:
        script = current_app.extensions["ratelimit_script"] = client.register_script(_COUNT)
    try:
        return int(script(keys=keys, args=[*seconds, *amounts])) > 0
    except redis.RedisError as exc:
        log.warning("rate limits not checked, Redis unreachable: %s", exc)
        return False
