from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL on the public site (PUBLIC_BASE_URL), built without a request, so it
    works the same in a worker and inside a request (where the page's language is filled in)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    current_app.inject_url_defaults(endpoint, values)
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
