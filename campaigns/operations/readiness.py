"""Can this process serve: the database answers with its migrations at head, and Redis answers.

A probe calls this every few seconds, so it costs one `SELECT version_num FROM alembic_version`
and one PING, and it must answer within about PROBE_DEADLINE even when a server hangs rather
than refuses. Redis gets short socket timeouts. The database gets an engine of its own (one
connection per process, short connect and statement timeouts: a probe never waits for the web
app's pool nor holds one of its connections), and its query runs on a thread of its own, while
Redis is asked, until the deadline: PostgreSQL's client cannot time out a connection attempt in
under 2 seconds. The migrations' head is read from migrations/ once per process.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from campaigns.extensions import db
from campaigns.operations.results import Result, State

PROBE_DEADLINE = 1.0  # seconds
REDIS_TIMEOUT = 0.5  # seconds, to connect and to answer
# Two threads: a query that outlived its deadline may hold one while the next probe runs.
_database_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readiness")


def migration_heads(app: Flask) -> frozenset[str]:
    heads = app.extensions.get("migration_heads")
    if heads is None:
        heads = frozenset(ScriptDirectory(app.extensions["migrate"].directory).get_heads())
        app.extensions["migration_heads"] = heads
    return heads


def _probe_engine(app: Flask) -> Engine:
    engine = app.extensions.get("readiness_engine")
    if engine is None:
        url = db.engine.url
        if url.get_backend_name() == "postgresql":
            options: dict[str, object] = {
                "pool_size": 1,
                "max_overflow": 0,
                "pool_timeout": PROBE_DEADLINE,
                "connect_args": {
                    "connect_timeout": 2,
                    "options": f"-c statement_timeout={int(PROBE_DEADLINE * 1000)}",
                },
            }
        else:
            options = {"connect_args": {"timeout": PROBE_DEADLINE}}
        engine = create_engine(url, **options)
        app.extensions["readiness_engine"] = engine
    return engine


def _database_versions(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _database_result(future: Future, started: float, heads: frozenset[str]) -> Result:
    label = _("Database")
    try:
        versions = future.result(timeout=max(0.0, started + PROBE_DEADLINE - time.monotonic()))
    except FutureTimeout:
        future.cancel()  # if it has not started yet, it never will
        detail = _("no answer within %(seconds)s s", seconds=PROBE_DEADLINE)
        return Result("database", label, State.FAILING, detail)
    except SQLAlchemyError as exc:
        # The class of the error only: its text may carry the address and the user name.
        detail = _("unreachable (%(error)s)", error=type(exc).__name__)
        return Result("database", label, State.FAILING, detail)
    if versions != heads:
        detail = _(
            "migrations not at head: the database is at %(found)s, the code at %(head)s "
            "(run flask --app wsgi db upgrade)",
            found=", ".join(sorted(versions)) or "-",
            head=", ".join(sorted(heads)),
        )
        return Result("database", label, State.FAILING, detail)
    detail = _("reachable, migrations at head (%(head)s)", head=", ".join(sorted(heads)))
    return Result("database", label, State.OK, detail)


def _probe_redis(app: Flask) -> redis.Redis:
    client = app.extensions.get("readiness_redis")
    if client is None:
        client = redis.Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=REDIS_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
        )
        app.extensions["readiness_redis"] = client
    return client


def check_redis(app: Flask) -> Result:
    try:
        _probe_redis(app).ping()
    except redis.RedisError as exc:
        detail = _("unreachable (%(error)s)", error=type(exc).__name__)
        return Result("redis", _("Redis"), State.FAILING, detail)
    return Result("redis", _("Redis"), State.OK, _("answers"))


def readiness() -> list[Result]:
    """The database's check and Redis's, run side by side."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    heads = migration_heads(app)
    started = time.monotonic()
    future = _database_probes.submit(_database_versions, _probe_engine(app))
    redis_result = check_redis(app)
    return [_database_result(future, started, heads), redis_result]


def is_ready(results: list[Result]) -> bool:
    return all(result.state != State.FAILING for result in results)
