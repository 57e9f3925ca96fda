"""Build the API: flask-smorest's Api with the platform's errors, its blueprints, the OpenAPI
document at /api/v1/openapi.json and its documentation page at /api/v1/docs."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from campaigns.api import campaign_views, docs_views, signature_views, supporter_views, target_views
from campaigns.api.common import finish
from campaigns.api.schemas import ProblemSchema
from campaigns.extensions import csrf

BLUEPRINTS = (campaign_views.blp, target_views.blp, supporter_views.blp, signature_views.blp)

DESCRIPTION = """\
Campaigns, petitions and their counts for everyone; for member networks, the supporters who
consented to hear from them, and signatures collected on their own forms. Shaped like OSDI
(HAL+JSON). Send an API key as `Authorization: Bearer <key>`; errors are RFC 9457 problem
details; public reads carry an `ETag` and CORS headers; every answer carries `RateLimit`
headers."""


# Once, at import: a blueprint takes its hooks before its first registration only (tests build
# several apps).
for _blueprint in BLUEPRINTS:
    _blueprint.after_request(finish)


class PlatformApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """flask-smorest would answer every HTTP error of the whole site in JSON: errors stay
        with core.errors, which answers problem details under /api/ and pages elsewhere."""


def init_api(app: Flask) -> None:
    app.config.update(
        API_TITLE="Campaigns API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": DESCRIPTION},
            "servers": [{"url": app.config["PUBLIC_BASE_URL"]}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{}, {"bearer": []}],
        },
    )
    api = PlatformApi(app)
    for blueprint in BLUEPRINTS:
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_views.bp)
