"""The Redis connection used for counters, and the key prefix every key we write carries."""

from __future__ import annotations

import redis
from flask import current_app


def get_redis() -> redis.Redis:
    """One client (and connection pool) per app, with short timeouts: Redis is a cache and a
    broker here, never the only copy of anything, so a slow Redis must not stall a request."""
    client = current_app.extensions.get("redis_client")
    if client is None:
        client = redis.Redis.from_url(
            current_app.config["REDIS_URL"],
            socket_connect_timeout=1,
            socket_timeout=1,
            decode_responses=True,
        )
        current_app.extensions["redis_client"] = client
    return client


def key(*parts: object) -> str:
    return current_app.config["REDIS_KEY_PREFIX"] + ":".join(str(p) for p in parts)
