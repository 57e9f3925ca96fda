"""Fixtures of the metrics and logging tests."""

from __future__ import annotations

import pytest

# The webhook tests' real receiver and network, for counting deliveries.
from tests.webhooks.conftest import local_receivers_allowed, network, receiver  # noqa: F401

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def metrics_token(app, monkeypatch):
    """GET /metrics open to `Authorization: Bearer TOKEN`."""
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return TOKEN
