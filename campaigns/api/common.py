"""What every operation of the API shares: the problems it documents, the headers of public
reads (CORS, caching), and the RateLimit headers of every answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint

from campaigns.api.auth import rate_headers
from campaigns.api.schemas import ProblemSchema
from campaigns.core.errors import PROBLEM_JSON

PROBLEMS = {
    401: "No API key where one is needed, or one that is unknown, revoked or expired.",
    403: "The API key lacks the scope this needs, or may not see this network's data.",
    404: "Nothing here, or nothing public.",
    409: "The same Idempotency-Key came with a different request.",
    422: "Something sent is not valid; `errors` says what.",
    429: "Too many requests for this key (or address); see `Retry-After` and `RateLimit`.",
}
# Public reads: any site may read them from a browser (no cookies, no key needed).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, RateLimit, RateLimit-Policy, Retry-After",
}
PUBLIC_MAX_AGE = 60


def document_problems(blp: Blueprint, *codes: int) -> Callable[[Callable], Callable]:
    """Describe in the OpenAPI document the problem answers an operation can give."""

    def decorate(view: Callable) -> Callable:
        for code in codes:
            view = blp.alt_response(
                code,
                schema=ProblemSchema,
                content_type=PROBLEM_JSON,
                description=PROBLEMS[code],
            )(view)
        return view

    return decorate


def public_read(view: Callable | None = None, *, max_age: int = PUBLIC_MAX_AGE) -> Any:
    """Mark a read as public: CORS for every origin and a short public cache (`finish`)."""

    def mark(function: Callable) -> Callable:
        function.public_max_age = max_age  # copied onto flask-smorest's wrappers
        return function

    return mark(view) if view is not None else mark


def finish(response: Response) -> Response:
    """After every API request: the RateLimit headers, and for a public read its CORS and cache
    headers (on its errors too, so that a browser can read them)."""
    response.headers.update(rate_headers())
    view = current_app.view_functions.get(request.endpoint or "")
    max_age = getattr(view, "public_max_age", None)
    if max_age is None:
        response.headers.setdefault("Cache-Control", "no-store")
        return response
    response.headers.update(CORS_HEADERS)
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
    elif response.status_code in (200, 304):
        # With a key the RateLimit headers are that key's: no shared cache may keep them.
        scope = "private" if "Authorization" in request.headers else "public"
        response.headers["Cache-Control"] = f"{scope}, max-age={max_age}"
    response.vary.add("Accept-Encoding")
    return response
