from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import IntegerConverter, Map


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL on the public site (PUBLIC_BASE_URL), built without a request, so it
    works the same in a worker and inside a request (where the page's language is filled in)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    current_app.inject_url_defaults(endpoint, values)
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits only (werkzeug's own takes any Unicode digit,
    so a fullwidth one would name record 1), and no larger than a database integer, so an id
    out of range is a 404 rather than an error deep in a query."""

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map: Map, max: int = 2**31 - 1) -> None:
        super().__init__(url_map, max=max)
