"""The API keys' tests: staff of each role signed in over the demo networks, and helpers."""

from __future__ import annotations

import pytest
from flask import g
from flask_babel import refresh
from sqlalchemy import select

from campaigns.api_keys.models import ApiKey
from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.networks.models import Network
from tests.migrations.test_migrations import empty_database  # noqa: F401


def network(slug: str) -> Network:
    return db.session.scalar(select(Network).where(Network.slug == slug))


def keys() -> list[ApiKey]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.id)))


def audit_entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def run_cli(app, *args: str):
    # A page requested in this test's app context leaves its language there; a command run
    # from a shell starts without one.
    from campaigns.api_keys.cli import api_keys_cli

    g.pop("lang", None)
    refresh()
    return app.test_cli_runner().invoke(api_keys_cli, list(args))


@pytest.fixture
def admin(demo, make_staff, staff_login):
    return staff_login(make_staff("admin"))


@pytest.fixture
def coordinator(demo, make_staff, staff_login):
    return staff_login(make_staff("coordinator", network=network("asud")))


@pytest.fixture
def campaigner(demo, make_staff, staff_login):
    return staff_login(make_staff("campaigner"))
