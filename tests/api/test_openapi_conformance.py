"""schemathesis drives every operation of the OpenAPI document against the app, with generated
arguments, once without a key and once with a key of each scope: never a server error, and
every answer (status, content type, headers, body) as the document describes it.

The operations are read from the document the app serves, so a new one is covered the day it
is added. (schemathesis's pytest plugin does not run under this pytest; its Python API does.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from campaigns.api_keys.models import SCOPES
from campaigns.api_keys.services import create_key
from campaigns.extensions import db

# A `filter` can match its documented pattern and still name no date (2026-02-30) or one out of
# range: refused with a 422 that says so, which this check would count as a valid request
# rejected. JSON Schema cannot say "a real date"; every other check runs.
positive_data_acceptance = schemathesis.checks.positive_data_acceptance


@pytest.fixture
def tokens(two_networks) -> list[str | None]:
    """No key, then a key of each scope alone for a network with a consenting supporter (so
    that people and signatures are checked with one in them)."""
    network, _other = two_networks
    made: list[str | None] = [None]
    for scope in SCOPES:
        _key, token = create_key(f"conformance {scope}", [scope], network=network)
        made.append(token)
    db.session.commit()
    return made


def test_every_operation_answers_as_its_document_says(app, tokens):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8  # the walk found the document's operations

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(suppress_health_check=list(HealthCheck), deadline=None)
        def answers_as_documented(case) -> None:
            for token in tokens:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            answers_as_documented()
        except Exception as failure:
            raise AssertionError(f"{operation.label}: {failure}") from failure
