"""The shapes of the API's answers, for serializing them and for the OpenAPI document alike.

OSDI's names where OSDI has the thing (`identifiers`, `created_date`, `modified_date`,
`browser_url`, `total_signatures`, `_links`, `_embedded`); our own, in the same style, where it
has not (`texts` per language, `by_country`)."""

from __future__ import annotations

import marshmallow as ma

F = ma.fields


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details: every error of the API."""

    type = F.String(required=True, metadata={"example": "about:blank"})
    title = F.String(required=True, metadata={"example": "Not Found"})
    status = F.Integer(required=True, metadata={"example": 404})
    detail = F.String(required=True)
    errors = F.Dict(
        keys=F.String(),
        values=F.Raw(),
        metadata={"description": "For a 422: each field that was not valid, and why."},
    )


class LinkSchema(ma.Schema):
    href = F.String(required=True, metadata={"format": "uri"})


def links_schema(name: str, *, collection: str | None = None) -> type[ma.Schema]:
    """The `_links` of a resource or a page: `self`, and `next`/`prev` and the list of the
    resources' own links (named `collection`) for a page."""
    fields: dict[str, ma.fields.Field] = {"self": F.Nested(LinkSchema, required=True)}
    if collection is not None:
        fields["next"] = F.Nested(LinkSchema)
        fields["prev"] = F.Nested(LinkSchema)
        fields[collection] = F.List(F.Nested(LinkSchema), required=True)
    return ma.Schema.from_dict(fields, name=name)


class CampaignTextSchema(ma.Schema):
    title = F.String(required=True)
    summary = F.String(required=True)
    body = F.String(required=True, metadata={"description": "The text, in Markdown."})
    target = F.String(
        required=True, metadata={"description": "Whom the campaign addresses, as written."}
    )


class CampaignSchema(ma.Schema):
    identifiers = F.List(F.String(), required=True)
    slug = F.String(required=True)
    kind = F.String(required=True, validate=ma.validate.OneOf(["petition", "letter"]))
    status = F.String(
        required=True, validate=ma.validate.OneOf(["live", "paused", "closed", "delivered"])
    )
    title = F.String(required=True, metadata={"description": "In the campaign's own language."})
    description = F.String(required=True, metadata={"description": "Its summary."})
    origin_language = F.String(required=True)
    languages = F.List(F.String(), required=True, metadata={"description": "Ready texts."})
    texts = F.Dict(keys=F.String(), values=F.Nested(CampaignTextSchema), required=True)
    browser_url = F.String(required=True, metadata={"format": "uri"})
    created_date = F.AwareDateTime(required=True)
    modified_date = F.AwareDateTime(required=True)
    launched_date = F.AwareDateTime(allow_none=True, required=True)
    total_signatures = F.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Confirmed signatures of a petition; null for a letter."},
    )
    goal = F.Integer(allow_none=True, required=True)
    links = F.Nested(
        links_schema("CampaignLinks"), data_key="_links", attribute="_links", required=True
    )


class CountsSchema(ma.Schema):
    petition = F.String(required=True, metadata={"description": "The petition's slug."})
    goal = F.Integer(required=True)
    total = F.Integer(required=True, metadata={"description": "Confirmed signatures."})
    by_country = F.Dict(
        keys=F.String(),
        values=F.Integer(),
        required=True,
        metadata={"description": "Confirmed signatures per country (ISO 3166-1 alpha-2)."},
    )
    generated_at = F.AwareDateTime(required=True)


def page_schema(name: str, collection: str, item: type[ma.Schema]) -> type[ma.Schema]:
    """A page of a collection, as OSDI has it."""
    return ma.Schema.from_dict(
        {
            "total_pages": F.Integer(required=True),
            "per_page": F.Integer(required=True),
            "page": F.Integer(required=True),
            "total_records": F.Integer(required=True),
            "links": F.Nested(
                links_schema(f"{name}Links", collection=collection),
                data_key="_links",
                attribute="_links",
                required=True,
            ),
            "embedded": F.Nested(
                ma.Schema.from_dict(
                    {collection: F.List(F.Nested(item), required=True)}, name=f"{name}Embedded"
                ),
                data_key="_embedded",
                attribute="_embedded",
                required=True,
            ),
        },
        name=name,
    )


CampaignPageSchema = page_schema("CampaignPage", "osdi:advocacy_campaigns", CampaignSchema)
PetitionPageSchema = page_schema("PetitionPage", "osdi:petitions", CampaignSchema)


class CommitteeSeatSchema(ma.Schema):
    committee = F.String(required=True, metadata={"example": "LIBE"})
    role = F.String(
        required=True, validate=ma.validate.OneOf(["chair", "vice-chair", "member", "substitute"])
    )


class TargetSchema(ma.Schema):
    identifiers = F.List(F.String(), required=True)
    name = F.String(required=True)
    kind = F.String(
        required=True,
        validate=ma.validate.OneOf(
            [
                "mep",
                "commissioner",
                "agency",
                "council",
                "permanent_representation",
                "ministry",
                "other",
            ]
        ),
    )
    role = F.String(required=True)
    institution = F.String(required=True)
    country = F.String(
        allow_none=True, required=True, metadata={"description": "ISO code; null: EU-wide."}
    )
    political_group = F.String(allow_none=True, required=True)
    national_party = F.String(allow_none=True, required=True)
    languages = F.List(F.String(), required=True, metadata={"description": "Preferred first."})
    committees = F.List(F.Nested(CommitteeSeatSchema), required=True)
    in_office = F.Boolean(required=True)
    profile_url = F.String(allow_none=True, required=True)
    created_date = F.AwareDateTime(required=True)
    modified_date = F.AwareDateTime(
        required=True,
        metadata={"description": "Its last change by the directory import or by staff."},
    )
    links = F.Nested(
        links_schema("TargetLinks"), data_key="_links", attribute="_links", required=True
    )


class TargetLettersSchema(ma.Schema):
    target = F.Nested(TargetSchema, required=True)
    delivered = F.Integer(required=True, metadata={"description": "Letters that reached them."})
    on_the_way = F.Integer(required=True, metadata={"description": "Confirmed, not yet sent."})
    position = F.String(
        allow_none=True,
        required=True,
        validate=ma.validate.OneOf(["supports", "opposes", "undecided", "no_reply"]),
        metadata={"description": "Their latest answer as staff logged it; null: none yet."},
    )


class LetterTargetsSchema(ma.Schema):
    campaign = F.String(required=True, metadata={"description": "The campaign's slug."})
    test_mode = F.Boolean(
        required=True,
        metadata={"description": "True while letters go to a test inbox, not to the targets."},
    )
    delivered = F.Integer(required=True)
    on_the_way = F.Integer(required=True)
    targets = F.List(F.Nested(TargetLettersSchema), required=True)
    links = F.Nested(
        links_schema("LetterTargetsLinks"), data_key="_links", attribute="_links", required=True
    )


TargetPageSchema = page_schema("TargetPage", "osdi:targets", TargetSchema)
