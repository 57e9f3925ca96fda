"""Fixtures the API's tests share with the pages they mirror: the exports' two networks and
their supporters, and the lobbying directory with its letter action."""

from tests.exports.conftest import add_signature, campaign, networks  # noqa: F401
from tests.exports.test_shared_supporters import consent, two_networks  # noqa: F401
from tests.lobbying.conftest import action, directory, office_clock  # noqa: F401
