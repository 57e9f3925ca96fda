"""The sending rate of all mailings together, shared by every worker through Redis.

Per second: each message gets a start time at least 1/rate after the previous one (a generic cell
rate algorithm), so no second holds more than the rate as long as each message starts at its
time (mailings.sending gives up the times a slow reply made it miss). Per hour: messages are counted in
one-minute buckets, and a message may start only while the last 61 buckets (more than any hour)
hold fewer than the hourly limit, so no hour, however it is cut, exceeds it either.
"""

from __future__ import annotations

import time

from flask import current_app

from campaigns.core.redis import get_redis, key

# Reserves up to ARGV[4] start times; returns {count reserved, wait before the first, spacing}.
_RESERVE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local per_hour = tonumber(ARGV[3])
local wanted = tonumber(ARGV[4])
local minute = math.floor(now / 60)
local allowed = wanted
if per_hour > 0 then
  local total = 0
  for i = 0, 60 do
    total = total + tonumber(redis.call('GET', KEYS[2] .. (minute - i)) or '0')
  end
  allowed = math.min(wanted, per_hour - total)
  if allowed <= 0 then
    return {0, tostring(60 - (now % 60)), tostring(interval)}
  end
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
redis.call('SET', KEYS[1], tostring(tat + allowed * interval), 'EX', 3600)
if per_hour > 0 then
  -- Counted in the minute the last one starts, the later of the two: conservative.
  local bucket = KEYS[2] .. math.floor((tat + (allowed - 1) * interval) / 60)
  redis.call('INCRBY', bucket, allowed)
  redis.call('EXPIRE', bucket, 3720)
end
return {allowed, tostring(tat - now), tostring(interval)}
"""


class SendingRate:
    def __init__(self) -> None:
        config = current_app.config
        self.per_second = float(config["MAILING_RATE_PER_SECOND"])
        self.per_hour = int(config["MAILING_RATE_PER_HOUR"])
        self._script = get_redis().register_script(_RESERVE)
        self._keys = [key("mailing-rate", "next"), key("mailing-rate", "minute") + ":"]

    def reserve(self, wanted: int) -> tuple[int, float, float]:
        """Reserve start times for up to `wanted` messages: (how many, seconds to wait before the
        first, seconds between them). 0 reserved means the hourly limit is reached: wait and ask
        again."""
        interval = 1.0 / self.per_second if self.per_second > 0 else 0.0
        allowed, wait, spacing = self._script(
            keys=self._keys, args=[repr(time.time()), repr(interval), self.per_hour, wanted]
        )
        return int(allowed), float(wait), float(spacing)
