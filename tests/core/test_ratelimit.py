"""Rate limits: sliding windows, every window of every limit in one Redis round trip; Redis down
lets through."""

from __future__ import annotations

import logging
import time

import pytest
import redis

from campaigns.core.ratelimit import over_limit, windows
from campaigns.devstack.mailcatcher.server import free_port


def test_the_notation_is_the_limits_packages():
    assert windows("20 per minute; 200 per hour") == ((60, 20), (3600, 200))
    assert windows("5/hour") == ((3600, 5),)


def test_each_window_counts_and_the_smallest_one_stops_first(app_ctx):
    limit = ("test", "203.0.113.9", "2 per hour; 3 per day")
    assert [over_limit(limit) for _ in range(3)] == [False, False, True]
    # Someone else has their own counters; so has another kind of limit for the same person.
    assert not over_limit(("test", "203.0.113.10", "2 per hour; 3 per day"))
    assert not over_limit(("other", "203.0.113.9", "2 per hour"))


def test_the_window_slides_instead_of_starting_afresh(app_ctx):
    """A fixed window would let 2 through at the end of one second and 2 more at the start of
    the next; a sliding one refuses the second pair until a second after the first."""
    limit = ("sliding", "203.0.113.11", "2 per second")
    time.sleep(1.85 - time.time() % 1 if time.time() % 1 > 0.85 else 0.85 - time.time() % 1)
    first = [over_limit(limit) for _ in range(2)]
    time.sleep(1.05 - time.time() % 1)  # just past the boundary of the second
    assert first + [over_limit(limit) for _ in range(2)] == [False, False, True, True]
    time.sleep(1.0)
    assert not over_limit(limit)


def test_any_limit_over_is_enough(app_ctx):
    ip = ("by-ip", "198.51.100.1", "100 per hour")
    assert not over_limit(ip, ("by-email", "hash-a", "1 per hour"))
    assert over_limit(ip, ("by-email", "hash-a", "1 per hour"))
    assert not over_limit(ip, ("by-email", "hash-b", "1 per hour"))


def test_three_windows_cost_one_round_trip(app_ctx, monkeypatch):
    over_limit(("warm", "x", "1 per hour"))  # the script is loaded once per app
    commands = []
    execute = redis.Redis.execute_command

    def counted(client, *args, **options):
        commands.append(args[0])
        return execute(client, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    over_limit(("a", "x", "20 per minute; 200 per hour"), ("b", "y", "5 per hour"))
    assert commands == ["EVALSHA"]


def test_redis_down_lets_the_request_through(other_app, caplog):
    """The request is counted under no limit and goes on; the log says why."""
    down = other_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with down.app_context(), caplog.at_level(logging.WARNING, logger="campaigns.core.ratelimit"):
        for _ in range(2):  # over a limit of one, were it counted
            assert not over_limit(("test", "x", "1 per hour"), ("test", "y", "1 per hour"))
    warnings = [r.getMessage() for r in caplog.records if r.name == "campaigns.core.ratelimit"]
    assert len(warnings) == 2
    assert all(w.startswith("rate limits not checked, Redis unreachable") for w in warnings)


def test_limits_can_be_switched_off(other_app):
    off = other_app(RATELIMIT_ENABLED=False)
    with off.app_context():
        assert not any(over_limit(("test", "z", "1 per hour")) for _ in range(3))


def test_a_limit_that_cannot_be_read_stops_the_app_from_starting(other_app):
    with pytest.raises(RuntimeError, match="RATELIMIT_SIGN_PER_IP='twenty a minute'"):
        other_app(RATELIMIT_SIGN_PER_IP="twenty a minute")
