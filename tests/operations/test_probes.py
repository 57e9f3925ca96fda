"""`/healthz` and `/readyz` as a load balancer or an orchestrator polls them: cheap, never
refused by a rate limit, never cached, no cookie, and a dead or hung server answered within
a second or so, naming the failing check and nothing about the server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from campaigns.devstack.mailcatcher.server import free_port
from campaigns.extensions import db


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A port whose server accepts connections (the kernel does) but never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def probe(client, path: str):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def assert_probe_headers(response) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_healthz_answers_without_the_database_or_redis(other_app, hung_port):
    app = other_app(
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://probe@127.0.0.1:{hung_port}/none",
        REDIS_URL=f"redis://127.0.0.1:{hung_port}/0",
    )
    response, elapsed = probe(app.test_client(), "/healthz")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert elapsed < 0.5
    assert_probe_headers(response)


def test_readyz_is_ready_with_the_database_at_head_and_redis_answering(app, client):
    for _ in range(30):  # a probe every second for half a minute: never rate-limited
        response = client.get("/readyz", headers={"Accept-Language": "fr"})
        assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok"},
    }
    assert_probe_headers(response)
    # Not behind a language prefix, and the same for a visitor with a language cookie.
    assert client.get("/en/readyz").status_code == 404
    client.set_cookie("lang", "de")
    assert client.get("/readyz").status_code == 200


def test_readyz_names_redis_when_it_is_down_and_answers_at_once(other_app):
    port = free_port()
    app = other_app(REDIS_URL=f"redis://:s3cret@127.0.0.1:{port}/0")
    response, elapsed = probe(app.test_client(), "/readyz")

    assert response.status_code == 503
    assert response.get_json() == {
        "status": "not ready",
        "checks": {"database": "ok", "redis": "failing"},
    }
    assert elapsed < 1
    assert_probe_headers(response)


def test_readyz_answers_within_the_deadline_when_both_servers_hang(other_app, hung_port):
    app = other_app(
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://probe:s3cret@127.0.0.1:{hung_port}/db",
        REDIS_URL=f"redis://:s3cret@127.0.0.1:{hung_port}/0",
    )
    response, elapsed = probe(app.test_client(), "/readyz")

    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "failing", "redis": "failing"}
    assert elapsed < 1.5, elapsed
    body = response.get_data(as_text=True)
    for secret in ("s3cret", "probe", str(hung_port), "127.0.0.1"):
        assert secret not in body


def test_readyz_fails_while_the_database_is_behind_the_code(app, client):
    (head,) = ScriptDirectory(app.extensions["migrate"].directory).get_heads()
    previous = ScriptDirectory(app.extensions["migrate"].directory).get_revision(head).down_revision

    def stamp(revision: str) -> None:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})

    stamp(previous)
    try:
        response = client.get("/readyz")
    finally:
        stamp(head)

    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "failing", "redis": "ok"}
    assert client.get("/readyz").status_code == 200  # at head again
