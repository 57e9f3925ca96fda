"""The directory's tests: staff of each role signed in, and the demo networks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.networks.models import Network
from tests.support import csrf_token


def network(slug: str) -> Network:
    db.session.expire_all()
    return db.session.scalar(select(Network).where(Network.slug == slug))


def audit_actions(network_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == "networks", AuditEntry.target_id == network_id)
            .order_by(AuditEntry.id)
        )
    )


def post_form(client, url: str, data: dict, page_url: str | None = None, **kwargs):
    """Open the page with the form, then send it with its CSRF token, as a browser does."""
    token = csrf_token(client.get(page_url or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


@pytest.fixture
def admin(demo, make_staff, staff_login):
    return staff_login(make_staff("admin"))


@pytest.fixture
def asud_coordinator(demo, make_staff, staff_login):
    return staff_login(make_staff("coordinator", network=network("asud")))


@pytest.fixture
def campaigner(demo, make_staff, staff_login):
    return staff_login(make_staff("campaigner"))
