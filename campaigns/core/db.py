"""Database helpers shared by every domain."""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
import time
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import DateTime, String, TypeDecorator, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from campaigns.extensions import db

# An id typed or posted by a person: ASCII digits that fit an integer column ("²".isdigit() is
# true too, and 99999999999999999999 overflows the database's integer instead of finding nothing).
_ID = re.compile(r"[0-9]{1,9}")


def parse_id(value: object) -> int | None:
    """The id in `value`, or None when it is no id at all."""
    text = str(value) if value is not None else ""
    return int(text) if _ID.fullmatch(text) else None


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC: every stored timestamp is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp column that always hands back aware UTC datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def init_sqlite_pragmas(app: Flask) -> None:
    """On the embedded SQLite database: WAL (readers never block the writer), a busy timeout so
    the web app and the worker wait for each other instead of failing, and enforced foreign keys."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    if event.contains(Engine, "connect", _set_sqlite_pragmas):
        return  # a second app in the same process (tests)
    event.listen(Engine, "connect", _set_sqlite_pragmas)


def _set_sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    dbapi_connection.create_function("sha256_hex", 1, _sha256_hex, deterministic=True)


def _sha256_hex(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


class sha256_hex(FunctionElement):
    """The SHA-256 of a text column as 64 hex digits, computed by the database: lets a query
    match addresses against lists keyed by their digest (mailings.suppression) without loading
    the addresses. SQLite gets it as a function of each connection (above)."""

    type = String(64)
    inherit_cache = True


@compiles(sha256_hex)
def _sha256_hex_sqlite(element: sha256_hex, compiler: SQLCompiler, **kw: object) -> str:
    return f"sha256_hex({compiler.process(element.clauses, **kw)})"


@compiles(sha256_hex, "postgresql")
def _sha256_hex_postgresql(element: sha256_hex, compiler: SQLCompiler, **kw: object) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"encode(sha256(convert_to({text}, 'UTF8')), 'hex')"


# A pooled connection unused for longer than this is checked with a ping before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def ping_after_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check a pooled connection before use, but only if it sat unused for `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` costs every request one more round trip to the database. What
    it guards against is a connection that died while nobody used it: the server restarted, or
    a firewall dropped a quiet connection. That happens to idle connections, so those are the
    ones checked. The trade: when the database restarts under load, a connection used a moment
    before fails its next statement, so each web process may answer one request with the error
    page; SQLAlchemy then replaces every connection of that pool."""

    @event.listens_for(engine, "checkin")
    def _remember_when(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(
        dbapi_connection: DBAPIConnection,
        record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if not engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            # The server is likely to have dropped the pool's other connections too: the pool
            # replaces them all, and hands out a new one now.
            raise InvalidatePoolError("the connection died while idle") from exc


@functools.lru_cache(maxsize=8)
def autocommit(engine: Engine) -> Engine:
    """An engine for statements that are a transaction of their own: no BEGIN and no COMMIT
    around them. Same database as `engine`, on a pool of its own, built once: switching a
    connection of the shared pool to autocommit and back at every checkout would cost more than
    the two round trips it saves."""
    own = create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    ping_after_idle(own)
    return own


def insert_unless_present(model: type) -> postgresql.Insert | sqlite.Insert:
    """INSERT ... ON CONFLICT DO NOTHING, which both databases we run on understand."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(model).on_conflict_do_nothing()


def commit_unit_of_work() -> None:
    """Commit the session of this request or task, if it has one. Signing on PostgreSQL may
    store everything in one statement in autocommit without ever creating a session, and
    creating one only to commit nothing would cost the busiest request for nothing."""
    if db.session.registry.has():
        db.session.commit()
