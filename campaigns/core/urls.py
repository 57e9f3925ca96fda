from __future__ import annotations

from flask import current_app, url_for


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL on the public site (PUBLIC_BASE_URL), buildable in a worker too."""
    base_url = current_app.config["PUBLIC_BASE_URL"]
    with current_app.test_request_context("/", base_url=base_url):
        return url_for(endpoint, _external=True, **values)
