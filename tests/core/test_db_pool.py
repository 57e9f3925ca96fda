"""Pooled database connections are checked after idle time, not before every request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from campaigns.extensions import db


@pytest.fixture
def engine(app_ctx) -> Iterator[Engine]:
    """The app's own engine with its pool emptied, so that each checkout gets the one
    connection back."""
    db.engine.dispose()
    yield db.engine
    db.engine.dispose()


def _check_in_then_break(engine: Engine, idle_for: float) -> object:
    """Use a connection, return it to the pool, make it look idle for `idle_for` seconds and
    close it underneath the pool (as a restarted server would). Returns the dead connection."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        dbapi_connection = conn.connection.dbapi_connection
        info = conn.connection.info
    info["idle_since"] -= idle_for
    dbapi_connection.close()
    return dbapi_connection


def test_a_connection_that_died_while_idle_is_replaced_before_use(engine: Engine) -> None:
    dead = _check_in_then_break(engine, idle_for=60)

    with engine.connect() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar() == 42
        assert conn.connection.dbapi_connection is not dead


def test_a_connection_used_a_moment_ago_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or ping(c))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:  # straight back: no round trip spent on a ping
        conn.execute(text("SELECT 1"))
    assert pings == []

    _check_in_then_break(engine, idle_for=60)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert len(pings) == 1
