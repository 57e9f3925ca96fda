"""schemathesis, aimed at recording a signature on a petition that is open: the conformance test
of every operation meets mostly unknown petitions (generated slugs), so here the slug is a real
one and the generated bodies reach the form and the signing. Every answer is as the document
says, and none is a server error."""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.signing_support import SLUG, key_for
from tests.api.test_openapi_conformance import positive_data_acceptance

PATH = "/api/v1/petitions/{slug}/signatures"


def test_generated_signatures_are_answered_as_documented(app, demo):
    # A member network's key and the umbrella network's (which takes no contact consent).
    tokens = [key_for("asud"), key_for("euronpud")]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = next(
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path == PATH and result.ok().method.upper() == "POST"
    )
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy())
    @settings(suppress_health_check=list(HealthCheck), deadline=None, max_examples=60)
    def answers_as_documented(case) -> None:
        case.path_parameters = {"slug": SLUG}
        for token in tokens:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                excluded_checks=[positive_data_acceptance],
            )
            statuses[response.status_code] += 1

    answers_as_documented()
    assert statuses[202] > 0, statuses  # the generated bodies did reach the signing
    assert set(statuses) <= {202, 409, 422}, statuses
