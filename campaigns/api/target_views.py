"""The directory of policymakers, and how many letters of an action reached each of them and
what they answered (the public scorecard's figures). Public: no key needed (a key that is sent
needs `read:targets`). No email address: letters reach them through the platform."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.api.auth import guard
from campaigns.api.common import document_problems, public_read
from campaigns.api.hal import PageArgs, each, identifier, link, modified_between, page
from campaigns.api.schemas import LetterTargetsSchema, TargetPageSchema, TargetSchema
from campaigns.extensions import db
from campaigns.lobbying.mode import letters_go_live
from campaigns.lobbying.models import Target, TargetKind
from campaigns.lobbying.scorecard import build_scorecard
from campaigns.lobbying.services import live_action

blp = Blueprint(
    "api_targets",
    __name__,
    url_prefix="/api/v1",
    description="The policymakers letters are written to, and each letter action's figures.",
)


class TargetArgs(PageArgs):
    country = ma.fields.String(
        validate=ma.validate.Regexp(r"^[A-Z]{2}$", error="Give a country as two capitals: FR."),
        metadata={"description": "Only targets of this country (ISO 3166-1 alpha-2)."},
    )
    kind = ma.fields.String(
        validate=ma.validate.OneOf([k.value for k in TargetKind]),
        metadata={"description": "Only targets of this kind."},
    )
    in_office = ma.fields.Boolean(metadata={"description": "Only those in office (or not)."})


def render_target(target: Target) -> dict[str, Any]:
    return {
        "identifiers": [identifier("target", target.id)],
        "name": target.name,
        "kind": target.kind.value,
        "role": target.role,
        "institution": target.institution,
        "country": target.country,
        "political_group": target.political_group,
        "national_party": target.national_party,
        "languages": target.language_list,
        "committees": [
            {"committee": seat.committee, "role": seat.role.value} for seat in target.committees
        ],
        "in_office": target.active and target.left_office_on is None,
        "profile_url": target.profile_url,
        "created_date": target.created_at,
        "modified_date": target.modified_at,
        "_links": {"self": link("api_targets.get_target", target_id=target.id)},
    }


@blp.route("/targets")
@blp.etag
@blp.arguments(TargetArgs, location="query")
@blp.response(200, TargetPageSchema)
@document_problems(blp, 401, 403, 422, 429)
@public_read
def list_targets(args: dict[str, Any]) -> dict[str, Any]:
    """The directory, by name."""
    guard("read:targets", key_required=False)
    query = (
        select(Target)
        .options(selectinload(Target.committees))
        .where(*modified_between(args["filter"], Target.modified_at))
        .order_by(Target.name, Target.id)
    )
    if "country" in args:
        query = query.where(Target.country == args["country"])
    if "kind" in args:
        query = query.where(Target.kind == args["kind"])
    if "in_office" in args:
        in_office = Target.active.is_(True) & Target.left_office_on.is_(None)
        query = query.where(in_office if args["in_office"] else ~in_office)
    filters = {k: args[k] for k in ("country", "kind", "in_office") if k in args}
    return page(query, args, "osdi:targets", each(render_target), **filters)


@blp.route("/targets/<int:target_id>")
@blp.etag
@blp.response(200, TargetSchema)
@document_problems(blp, 401, 403, 404, 429)
@public_read
def get_target(target_id: int) -> dict[str, Any]:
    """One policymaker."""
    guard("read:targets", key_required=False)
    target = db.session.get(Target, target_id)
    if target is None:
        abort(404, message=f"There is no target {target_id}.")
    return render_target(target)


@blp.route("/letter_actions/<slug>/targets")
@blp.etag
@blp.response(200, LetterTargetsSchema)
@document_problems(blp, 401, 403, 404, 429)
@public_read
def letter_targets(slug: str) -> dict[str, Any]:
    """How many letters of a public letter campaign reached each policymaker, how many are on
    their way, and what each answered: the figures of its public scorecard."""
    guard("read:targets", key_required=False)
    action = live_action(slug)
    if action is None:
        abort(404, message=f"There is no public letter campaign “{slug}”.")
    card = build_scorecard(action)
    return {
        "campaign": slug,
        "test_mode": not letters_go_live(action),
        "delivered": card.delivered,
        "on_the_way": card.on_the_way,
        "targets": [
            {
                "target": render_target(row.target),
                "delivered": row.sent,
                "on_the_way": row.on_the_way,
                "position": row.position.value if row.position else None,
            }
            for row in card.rows
        ],
        "_links": {"self": link("api_targets.letter_targets", slug=slug)},
    }
