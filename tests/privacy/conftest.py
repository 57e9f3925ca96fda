"""Fixtures shared with the lobbying and mailing tests: letters and mailing recipients."""

from __future__ import annotations

from tests.lobbying.conftest import action, directory, office_clock  # noqa: F401 - fixtures
from tests.mailings.conftest import supporter  # noqa: F401 - fixture
