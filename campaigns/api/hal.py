"""HAL+JSON as OSDI has it: `_links` to each resource and to the pages of a collection,
`_embedded` resources, `identifiers`, and pages with `page`, `per_page`, `total_pages` and
`total_records`. Every link is absolute and built from PUBLIC_BASE_URL (https in production)."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from flask import current_app, request
from flask_smorest import abort
from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from campaigns.core.urls import public_url
from campaigns.extensions import db

MAX_PER_PAGE = 100
# OSDI's OData-style filter on the date modified: `modified_date gt '2026-01-01'`, two clauses
# at most, joined by `and`.
_MOMENT = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?"
_CLAUSE = re.compile(rf"\s*modified_date\s+(gt|lt)\s+'({_MOMENT})'\s*")
# The whole argument, for the OpenAPI document (a client sees the grammar before it calls).
FILTER_PATTERN = rf"^{_CLAUSE.pattern}(?:\sand\s{_CLAUSE.pattern})?$"


class PagingArgs(ma.Schema):
    page = ma.fields.Integer(
        load_default=1,
        validate=ma.validate.Range(min=1, max=1_000_000),
        metadata={"description": "The page to return, from 1."},
    )
    per_page = ma.fields.Integer(
        load_default=25,
        validate=ma.validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"Resources per page, at most {MAX_PER_PAGE}."},
    )


class PageArgs(PagingArgs):
    filter = ma.fields.String(
        load_default=None,
        validate=[
            ma.validate.Length(max=200),
            ma.validate.Regexp(
                FILTER_PATTERN,
                error="Write it as modified_date gt '2026-01-01' (gt or lt, a date in quotes).",
            ),
        ],
        metadata={
            "description": "Only resources modified after or before a moment (ISO 8601, UTC "
            "unless it says otherwise), in OSDI's notation: `modified_date gt '2026-01-01'`, "
            "`modified_date gt '2026-01-01T12:00:00Z' and modified_date lt '2026-02-01'`."
        },
    )


def identifier(kind: str, value: object) -> str:
    """OSDI's `<system>:<id>`, the system being this platform's host name: `campaigns.example.org:
    campaign/12`. Ids, not slugs, so that an identifier survives a renamed slug."""
    system = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "campaigns"
    return f"{system}:{kind}/{value}"


def person_identifier(network_id: int, email: str) -> str:
    """A supporter's identifier as one network sees it (its API answers, the withdrawal webhook):
    keyed per network, so two networks cannot match their lists by it, and stable for an
    address, so a network's CRM can find the person again."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"api-person:{network_id}:{email}".encode(), hashlib.sha256)
    return identifier("person", digest.hexdigest()[:24])


def link(endpoint: str, **values: object) -> dict[str, str]:
    return {"href": public_url(endpoint, **values)}


def modified_between(text: str | None, column: InstrumentedAttribute) -> list[Any]:
    """The WHERE clauses of a `filter` argument; 422 with the reason if it cannot be read."""
    if not text:
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.fullmatch(part)
        if match is None:
            _bad_filter("Write it as modified_date gt '2026-01-01' (gt or lt, a date in quotes).")
        operator, moment = match.group(1).lower(), _moment(match.group(2))
        clauses.append(column > moment if operator == "gt" else column < moment)
    if len(clauses) > 2:
        _bad_filter("At most two clauses: one gt and one lt.")
    return clauses


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        _bad_filter(f"“{text}” is not a date or a time in ISO 8601 (2026-01-01T12:00:00Z).")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 2000 <= moment.astimezone(UTC).year <= 9998:
        _bad_filter("Give a date between the years 2000 and 9998.")
    return moment.astimezone(UTC)


def _bad_filter(reason: str) -> None:
    abort(422, message="The filter could not be read.", errors={"filter": [reason]})


def page(
    query: Select,
    args: dict[str, Any],
    name: str,
    render: Callable[[list[Any]], list[dict[str, Any]]],
    endpoint: str | None = None,
    **values: object,
) -> dict[str, Any]:
    """One page of `query` as an OSDI collection: `_embedded[name]` holds its rows rendered
    (`render` takes the page's rows at once, so that it can load what they need in one query),
    `_links` the pages around it (with the same arguments) and each resource's own link."""
    number, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
    pages = max(math.ceil(total / per_page), 1)
    endpoint = endpoint or request.endpoint
    query_values = {
        "per_page": per_page,
        **({"filter": args["filter"]} if args.get("filter") else {}),
    }

    def page_link(n: int) -> dict[str, str]:
        return link(endpoint, page=n, **query_values, **values)

    items = render([row[0] if len(row) == 1 else row for row in rows])
    links: dict[str, Any] = {"self": page_link(number)}
    if number < pages:
        links["next"] = page_link(number + 1)
    if number > 1:
        links["prev"] = page_link(min(number - 1, pages))
    links[name] = [item["_links"]["self"] for item in items if "_links" in item]
    return {
        "total_pages": pages,
        "per_page": per_page,
        "page": number,
        "total_records": total,
        "_links": links,
        "_embedded": {name: items},
    }


def each(render: Callable[[Any], dict[str, Any]]) -> Callable[[list[Any]], list[dict[str, Any]]]:
    """`page`'s renderer for resources that need nothing but their own row."""
    return lambda rows: [render(row) for row in rows]
