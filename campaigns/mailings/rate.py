"""The sending rate of all mailings together, shared by every worker through Redis.

Per second: each message gets a start time at least 1/rate after the previous one (a generic cell
rate algorithm), so no second holds more than the rate as long as each message starts at its
time (mailings.batches gives up the times a slow reply made it miss). Per hour: messages are counted in
one-minute buckets, and a message may start only while the last 61 buckets (more than any hour)
hold fewer than the hourly limit, so no hour, however it is cut, exceeds it either. Start times a
batch gives up before starting a message in them (after a slow reply, or when the SMTP connection
fails) go back to the hourly count.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import redis
from flask import current_app

from campaigns.core.redis import get_redis, key

log = logging.getLogger(__name__)

# Reserves up to ARGV[4] start times; returns {count reserved, wait before the first, spacing,
# the hourly bucket they were counted in}.
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
    return {0, tostring(60 - (now % 60)), tostring(interval), ''}
  end
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
redis.call('SET', KEYS[1], tostring(tat + allowed * interval), 'EX', 3600)
local bucket = ''
if per_hour > 0 then
  -- Counted in the minute the last one starts, the later of the two: conservative.
  bucket = KEYS[2] .. math.floor((tat + (allowed - 1) * interval) / 60)
  redis.call('INCRBY', bucket, allowed)
  redis.call('EXPIRE', bucket, 3720)
end
return {allowed, tostring(tat - now), tostring(interval), bucket}
"""

# Takes ARGV[1] unsent messages off the bucket KEYS[1], if it still holds them.
_GIVE_BACK = """
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
local back = math.min(left, tonumber(ARGV[1]))
if back > 0 then redis.call('DECRBY', KEYS[1], back) end
return back
"""


class Reservation(NamedTuple):
    count: int  # 0: the hourly limit is reached; wait and ask again
    wait: float  # seconds before the first start time
    spacing: float  # seconds between start times
    bucket: str  # where the hourly count holds them ('' without an hourly limit)


class SendingRate:
    def __init__(self) -> None:
        config = current_app.config
        self.per_second = float(config["MAILING_RATE_PER_SECOND"])
        self.per_hour = int(config["MAILING_RATE_PER_HOUR"])
        self._reserve = get_redis().register_script(_RESERVE)
        self._give_back = get_redis().register_script(_GIVE_BACK)
        self._keys = [key("mailing-rate", "next"), key("mailing-rate", "minute") + ":"]

    def reserve(self, wanted: int) -> Reservation:
        """Reserve start times for up to `wanted` messages."""
        interval = 1.0 / self.per_second if self.per_second > 0 else 0.0
        count, wait, spacing, bucket = self._reserve(
            keys=self._keys, args=[repr(time.time()), repr(interval), self.per_hour, wanted]
        )
        return Reservation(int(count), float(wait), float(spacing), bucket)

    def give_back(self, reservation: Reservation, unsent: int) -> None:
        """Return `unsent` of the reservation's start times to the hourly count. (Not to the
        per-second schedule: other workers may already hold the times after them.) Best effort:
        if Redis fails now, the hour only counts a few messages too many."""
        if unsent > 0 and reservation.bucket:
            try:
                self._give_back(keys=[reservation.bucket], args=[unsent])
            except redis.RedisError as exc:
                log.warning("unused sending times not given back: %s", exc)
