"""When a letter may reach its target: office hours in the target's time zone, and a pace of at
most LOBBYING_PER_TARGET_PER_HOUR letters an hour to one target.

A confirmed letter gets, per target, the target's next free slot: slots of one target are at
least 3600 / pace seconds apart (so no hour holds more than the pace), moved later by a random
jitter, and moved into office hours. The worker that sends checks the spacing again when it takes
a letter (see delivery.py), so a backlog after an outage still goes out at the pace.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(
    r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


@dataclass(frozen=True)
class OfficeHours:
    days: frozenset[int]  # Monday = 0
    start: time
    end: time

    def is_open(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """`moment` (UTC) if the office is open then, else when it next opens (UTC)."""
        local = moment.astimezone(zone)
        if self.is_open(local):
            return moment
        day = local.date()
        if local.time() >= self.start:  # later today is closed: from tomorrow
            day += timedelta(days=1)
        for _ in range(8):
            if day.weekday() in self.days:
                opening = datetime.combine(day, self.start, tzinfo=zone)
                return opening.astimezone(moment.tzinfo)
            day += timedelta(days=1)
        raise ValueError("office hours without an open day")


@lru_cache(maxsize=8)
def parse_office_hours(text: str) -> OfficeHours:
    """ "Mon-Fri 08:00-19:00" or "mon,tue,thu 09:00-17:30"."""
    found = _HOURS.match(text.lower())
    if not found:
        raise ValueError(f"office hours {text!r}: expected like 'Mon-Fri 08:00-19:00'")
    days: set[int] = set()
    for part in found["days"].split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"office hours {text!r}: unknown day in {part!r}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else (*range(a, 7), *range(b + 1)))
    start = time.fromisoformat(found["start"].zfill(5))
    # "24:00": to the end of the day ("Mon-Sun 00:00-24:00" is always open).
    end = time.max if found["end"] == "24:00" else time.fromisoformat(found["end"].zfill(5))
    if start >= end:
        raise ValueError(f"office hours {text!r}: the office must open before it closes")
    return OfficeHours(frozenset(days), start, end)


def office_hours() -> OfficeHours:
    return parse_office_hours(current_app.config["LOBBYING_OFFICE_HOURS"])


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(current_app.config["LOBBYING_DEFAULT_TIME_ZONE"])


def spacing() -> timedelta:
    """The least time between two letters to one target."""
    return timedelta(seconds=3600 / max(1, current_app.config["LOBBYING_PER_TARGET_PER_HOUR"]))


@dataclass(frozen=True)
class Slot:
    due_at: datetime
    deferred_by: str | None  # "pace", "office_hours" or None (goes at once)


def next_slot(
    now: datetime, free_from: datetime | None, zone: ZoneInfo, rng: random.Random | None = None
) -> Slot:
    """The time of a target's next letter: not before `free_from` (the end of its last slot),
    jittered, within office hours."""
    base = max(now, free_from or now)
    jitter = timedelta(
        seconds=(rng or random).uniform(0, spacing().total_seconds())
        * current_app.config["LOBBYING_JITTER"]
    )
    hours = office_hours()
    opened = hours.next_open(base, zone)
    due = hours.next_open(opened + jitter, zone)
    if opened > base:
        deferred_by = "office_hours"
    elif base > now:
        deferred_by = "pace"
    else:
        deferred_by = None
    return Slot(due, deferred_by)
