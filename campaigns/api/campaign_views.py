"""Advocacy campaigns and petitions: their texts in each ready language, and their counts.
Public: no key needed (a key that is sent needs `read:campaigns`, or `read:counts` for counts).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.api.auth import guard
from campaigns.api.common import document_problems, public_read
from campaigns.api.hal import PageArgs, identifier, link, modified_between, page
from campaigns.api.schemas import (
    CampaignPageSchema,
    CampaignSchema,
    CountsSchema,
    PetitionPageSchema,
)
from campaigns.campaign.models import (
    PUBLIC_STATUSES,
    Campaign,
    CampaignKind,
    TranslationStatus,
)
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.petitions.tallies.services import Tally, current_tallies, current_tally

blp = Blueprint(
    "api_campaigns",
    __name__,
    url_prefix="/api/v1",
    description="Advocacy campaigns and petitions, with their texts per language and counts.",
)
# Counts may be this many seconds old in a browser or a CDN; embeds poll them.
COUNTS_MAX_AGE = 30


def _public_campaigns() -> Any:
    return (
        select(Campaign)
        .where(Campaign.status.in_(PUBLIC_STATUSES))
        .options(selectinload(Campaign.translations), selectinload(Campaign.petition))
        .order_by(Campaign.id)
    )


def _public_campaign(slug: str, kind: CampaignKind | None = None) -> Campaign:
    query = _public_campaigns().where(Campaign.slug == slug)
    if kind is not None:
        query = query.where(Campaign.kind == kind)
    campaign = db.session.scalar(query)
    if campaign is None:
        abort(404, message=f"There is no public campaign “{slug}”.")
    return campaign


def _render_page(campaigns: list[Campaign]) -> list[dict[str, Any]]:
    """A page of campaigns, their petitions' counts read in one Redis round trip."""
    tallies = current_tallies([c.petition.id for c in campaigns if c.petition is not None])
    return [_render(campaign, tallies) for campaign in campaigns]


def _render(campaign: Campaign, tallies: dict[int, Tally] | None = None) -> dict[str, Any]:
    ready = {t.locale: t for t in campaign.translations if t.status == TranslationStatus.READY}
    own = ready.get(campaign.default_locale) or next(iter(ready.values()), None)
    petition = campaign.petition if campaign.kind == CampaignKind.PETITION else None
    total = None
    if petition is not None:
        tally = tallies[petition.id] if tallies is not None else current_tally(petition.id)
        total = tally.total
    if campaign.kind == CampaignKind.PETITION:
        page_endpoint = "petitions.petition"
        self_link = link("api_campaigns.get_petition", slug=campaign.slug)
    else:
        page_endpoint = "lobbying.write"
        self_link = link("api_campaigns.get_campaign", slug=campaign.slug)
    return {
        "identifiers": [identifier("campaign", campaign.id)],
        "slug": campaign.slug,
        "kind": campaign.kind.value,
        "status": campaign.status.value,
        "title": own.title if own else campaign.slug,
        "description": own.summary if own else "",
        "origin_language": campaign.default_locale,
        "languages": sorted(ready),
        "texts": {
            locale: {
                "title": t.title,
                "summary": t.summary,
                "body": t.body_markdown,
                "target": t.target,
            }
            for locale, t in sorted(ready.items())
        },
        "browser_url": link(page_endpoint, lang=campaign.default_locale, slug=campaign.slug)[
            "href"
        ],
        "created_date": campaign.created_at,
        "modified_date": campaign.modified_at,
        "launched_date": campaign.launched_at,
        "total_signatures": total,
        "goal": petition.goal if petition else None,
        "_links": {"self": self_link},
    }


@blp.route("/advocacy_campaigns")
@blp.etag
@blp.arguments(PageArgs, location="query")
@blp.response(200, CampaignPageSchema)
@document_problems(blp, 401, 403, 422, 429)
@public_read
def list_campaigns(args: dict[str, Any]) -> dict[str, Any]:
    """Every public campaign, petitions and letters alike."""
    guard("read:campaigns", key_required=False)
    query = _public_campaigns().where(*modified_between(args["filter"], Campaign.modified_at))
    return page(query, args, "osdi:advocacy_campaigns", _render_page)


@blp.route("/advocacy_campaigns/<slug>")
@blp.etag
@blp.response(200, CampaignSchema)
@document_problems(blp, 401, 403, 404, 429)
@public_read
def get_campaign(slug: str) -> dict[str, Any]:
    """One public campaign."""
    guard("read:campaigns", key_required=False)
    return _render(_public_campaign(slug))


@blp.route("/petitions")
@blp.etag
@blp.arguments(PageArgs, location="query")
@blp.response(200, PetitionPageSchema)
@document_problems(blp, 401, 403, 422, 429)
@public_read
def list_petitions(args: dict[str, Any]) -> dict[str, Any]:
    """Every public petition, with its count of confirmed signatures."""
    guard("read:campaigns", key_required=False)
    query = _public_campaigns().where(
        Campaign.kind == CampaignKind.PETITION,
        *modified_between(args["filter"], Campaign.modified_at),
    )
    return page(query, args, "osdi:petitions", _render_page)


@blp.route("/petitions/<slug>")
@blp.etag
@blp.response(200, CampaignSchema)
@document_problems(blp, 401, 403, 404, 429)
@public_read
def get_petition(slug: str) -> dict[str, Any]:
    """One public petition."""
    guard("read:campaigns", key_required=False)
    return _render(_public_campaign(slug, CampaignKind.PETITION))


@blp.route("/petitions/<slug>/counts")
@blp.etag
@blp.response(200, CountsSchema)
@document_problems(blp, 401, 403, 404, 429)
@public_read(max_age=COUNTS_MAX_AGE)
def petition_counts(slug: str) -> dict[str, Any]:
    """A petition's confirmed signatures, in all and per country (what embeds poll)."""
    guard("read:counts", key_required=False)
    campaign = _public_campaign(slug, CampaignKind.PETITION)
    petition = campaign.petition
    tally = current_tally(petition.id)
    return {
        "petition": slug,
        "goal": petition.goal,
        "total": tally.total,
        "by_country": dict(tally.countries_by_count()),
        "generated_at": utcnow().replace(microsecond=0),
    }
