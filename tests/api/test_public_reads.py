"""The public reads of the API as a developer meets them: OSDI-shaped pages of campaigns and
petitions with absolute links, filters by date modified, problem details for every error,
ETags, CORS and rate limits."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from campaigns.campaign.models import PUBLIC_STATUSES, Campaign, CampaignKind, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.editor.services import Text, save_translation
from campaigns.extensions import db

PETITION = "naloxone-in-every-pocket"


def public_slugs(kind: CampaignKind | None = None) -> list[str]:
    query = select(Campaign.slug).where(Campaign.status.in_(PUBLIC_STATUSES))
    if kind is not None:
        query = query.where(Campaign.kind == kind)
    return list(db.session.scalars(query.order_by(Campaign.id)))


def embedded(answer, name: str) -> list[dict]:
    return answer.json["_embedded"][name]


def test_campaigns_are_listed_as_an_osdi_collection_with_links_to_every_page(client, demo):
    expected = public_slugs()
    assert len(expected) >= 3
    first = client.get("/api/v1/advocacy_campaigns?per_page=2")
    assert first.status_code == 200
    assert first.content_type == "application/json"
    body = first.json
    assert (body["page"], body["per_page"], body["total_records"]) == (1, 2, len(expected))
    assert body["total_pages"] == -(-len(expected) // 2)
    assert "prev" not in body["_links"]

    seen, answer = [], first
    while True:
        seen += [c["slug"] for c in embedded(answer, "osdi:advocacy_campaigns")]
        links = answer.json["_links"]
        assert [link["href"] for link in links["osdi:advocacy_campaigns"]] == [
            c["_links"]["self"]["href"] for c in embedded(answer, "osdi:advocacy_campaigns")
        ]
        if "next" not in links:
            break
        answer = client.get(links["next"]["href"])  # absolute: the client follows it as is
        assert answer.status_code == 200
    assert seen == expected


def test_a_petition_has_its_texts_per_ready_language_and_its_count(client, demo):
    answer = client.get(f"/api/v1/petitions/{PETITION}")
    assert answer.status_code == 200
    petition = answer.json
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == PETITION))
    assert petition["kind"] == "petition"
    assert petition["languages"] == sorted(campaign.ready_locales)
    assert set(petition["texts"]) == set(campaign.ready_locales)
    assert petition["texts"]["fr"]["title"] == campaign.translation_for("fr").title
    assert petition["total_signatures"] == 0
    assert petition["identifiers"] == [f"localhost:campaign/{campaign.id}"]
    assert petition["browser_url"].endswith(f"/{campaign.default_locale}/c/{PETITION}")
    assert petition["_links"]["self"]["href"].endswith(f"/api/v1/petitions/{PETITION}")


def test_links_use_the_public_address_and_its_https(other_app, demo):
    client = other_app(PUBLIC_BASE_URL="https://campaigns.example.org").test_client()
    answer = client.get("/api/v1/petitions?per_page=1")
    assert answer.json["_links"]["next"]["href"].startswith(
        "https://campaigns.example.org/api/v1/petitions?page=2"
    )
    assert embedded(answer, "osdi:petitions")[0]["identifiers"][0].startswith(
        "campaigns.example.org:campaign/"
    )


def test_a_draft_is_never_shown(client, demo):
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == PETITION))
    campaign.status = CampaignStatus.DRAFT
    db.session.commit()
    assert PETITION not in [
        c["slug"] for c in embedded(client.get("/api/v1/petitions"), "osdi:petitions")
    ]
    missing = client.get(f"/api/v1/petitions/{PETITION}")
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"
    assert missing.json == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": f"There is no public campaign “{PETITION}”.",
    }


def test_the_filter_by_date_modified(client, demo):
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == PETITION))
    everyone = public_slugs()
    for other in db.session.scalars(select(Campaign).where(Campaign.slug != PETITION)):
        other.modified_at = utcnow() - timedelta(days=30)
    campaign.modified_at = utcnow() - timedelta(days=1)
    db.session.commit()
    a_week_ago = (utcnow() - timedelta(days=7)).date().isoformat()
    recent = client.get(f"/api/v1/advocacy_campaigns?filter=modified_date gt '{a_week_ago}'")
    assert [c["slug"] for c in embedded(recent, "osdi:advocacy_campaigns")] == [PETITION]
    older = client.get(
        f"/api/v1/advocacy_campaigns?filter=modified_date lt '{a_week_ago}T00:00:00Z'"
    )
    assert [c["slug"] for c in embedded(older, "osdi:advocacy_campaigns")] == [
        s for s in everyone if s != PETITION
    ]
    # The next page keeps the filter.
    paged = client.get(
        f"/api/v1/advocacy_campaigns?per_page=1&filter=modified_date lt '{a_week_ago}'"
    )
    assert "filter=modified_date" in paged.json["_links"]["next"]["href"]


def test_editing_a_text_moves_the_date_modified(client, demo, make_staff):
    before = client.get(f"/api/v1/petitions/{PETITION}").json["modified_date"]
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == PETITION))
    translation = campaign.translation_for("en")
    text = Text(**{f.name: getattr(translation, f.name) for f in fields(Text)})
    text.summary = "A new summary."
    save_translation(campaign, "en", text, make_staff("campaigner"))
    db.session.commit()
    after = client.get(f"/api/v1/petitions/{PETITION}").json
    assert after["modified_date"] > before
    assert after["texts"]["en"]["summary"] == "A new summary."


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("filter=modified_date gt 'yesterday'", "filter"),
        ("filter=created_date gt '2026-01-01'", "filter"),
        ("filter=modified_date gt '0001-01-01'", "filter"),
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
    ],
)
def test_bad_query_arguments_are_a_422_problem_naming_the_field(client, demo, query, field):
    answer = client.get(f"/api/v1/advocacy_campaigns?{query}")
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    assert answer.json["status"] == 422
    assert answer.json["detail"]
    assert list(answer.json["errors"]) == [field]


def test_public_reads_carry_an_etag_and_answer_304_when_nothing_changed(client, demo):
    first = client.get(f"/api/v1/petitions/{PETITION}/counts")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = client.get(f"/api/v1/petitions/{PETITION}/counts", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    listing = client.get("/api/v1/petitions")
    unchanged = client.get("/api/v1/petitions", headers={"If-None-Match": listing.headers["ETag"]})
    assert unchanged.status_code == 304


def test_public_reads_may_be_read_from_any_site_and_cached_briefly(client, demo):
    answer = client.get("/api/v1/advocacy_campaigns", headers={"Origin": "https://asud.org"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    assert answer.headers["Cache-Control"] == "public, max-age=60"
    preflight = client.options(
        "/api/v1/advocacy_campaigns",
        headers={
            "Origin": "https://asud.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Headers"] == "If-None-Match"
    missing = client.get("/api/v1/petitions/nope", headers={"Origin": "https://asud.org"})
    assert missing.headers["Access-Control-Allow-Origin"] == "*"  # the browser may read why


def test_an_unknown_address_or_method_under_the_api_is_a_problem_not_a_page(client, demo):
    unknown = client.get("/api/v1/nothing-here")
    assert (unknown.status_code, unknown.content_type) == (404, "application/problem+json")
    wrong = client.delete(f"/api/v1/petitions/{PETITION}")
    assert (wrong.status_code, wrong.content_type) == (405, "application/problem+json")
    assert "GET" in wrong.headers["Allow"]
    assert client.get("/en/nothing-here").content_type.startswith("text/html")  # pages stay


def test_the_public_rate_limit_is_announced_and_then_enforced(other_app, demo):
    client = other_app(API_PUBLIC_RATE_LIMIT="2 per minute").test_client()
    answers = [client.get("/api/v1/advocacy_campaigns") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"api";q=2;w=60'
    assert answers[0].headers["RateLimit"].startswith('"api";r=1;t=')
    refused = answers[2]
    assert refused.content_type == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit"].startswith('"api";r=0;')


def test_the_openapi_document_describes_every_operation_served(client, demo, app):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    spec = document.json
    assert spec["openapi"] == "3.1.0"
    served = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        and rule.endpoint.startswith("api_")
        and rule.endpoint != "api_docs.docs"
    }
    assert served == set(spec["paths"])
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for path in spec["paths"]:
        assert path in html
    assert "cdn" not in html.lower()


def test_a_body_that_is_not_json_is_described_not_a_server_error(app):
    """webargs reports a body it cannot read as JSON as a list, not per field."""
    from werkzeug.exceptions import BadRequest

    from campaigns.core.errors import api_problem

    error = BadRequest()
    error.data = {"messages": {"json": ["Invalid JSON body."]}}
    with app.test_request_context("/api/v1/petitions/x/signatures", method="POST"):
        answer = api_problem(error)
    assert answer.status_code == 400
    assert answer.json["errors"] == {"json": ["Invalid JSON body."]}


def test_a_page_of_campaigns_costs_the_same_statements_whatever_its_length(client, demo):
    everyone = client.get("/api/v1/advocacy_campaigns?per_page=100").json  # counters warmed
    assert everyone["total_records"] >= 3

    def statements(url: str) -> int:
        seen: list[str] = []

        def note(conn, cursor, statement, *args):
            seen.append(statement)

        sa_event.listen(db.engine, "before_cursor_execute", note)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", note)
        return len(seen)

    one = statements("/api/v1/advocacy_campaigns?per_page=1")
    assert statements("/api/v1/advocacy_campaigns?per_page=100") == one
    assert statements("/api/v1/petitions?per_page=100") == one
