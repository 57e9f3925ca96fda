"""The supporters a network may contact, read by that network's key (`read:supporters`): those
who ticked "<network> may contact me" for THAT network, confirmed it by email and have not
withdrawn it (campaigns.exports.shared, the same query as the coordinators' export). A
withdrawal or an erasure takes them out of the next answer. Each read is in the audit log.

People are one per email address, with each consent they gave this network; signatures are
one per consent on a petition. A person's identifier is derived from the address with a key of
the platform and the network's id, so two networks cannot match their lists by it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import request
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select

from campaigns.api.auth import guard
from campaigns.api.common import document_problems
from campaigns.api.hal import PageArgs, identifier, modified_between, page, person_identifier
from campaigns.api.supporter_schemas import PersonPageSchema, SignaturePageSchema
from campaigns.api_keys.models import ApiKey
from campaigns.audit.services import NOBODY, record
from campaigns.campaign.models import Campaign, CampaignKind
from campaigns.core.db import commit_unit_of_work
from campaigns.extensions import db
from campaigns.petitions.models import ConsentRecord, ConsentText, Petition, Signature
from campaigns.petitions.sharing import consenting

blp = Blueprint(
    "api_supporters",
    __name__,
    url_prefix="/api/v1",
    description="A network's own supporters: those who agreed that it may contact them.",
)

_CONSENT_COLUMNS = (
    Signature.email,
    Signature.name,
    Signature.country,
    Signature.locale,
    Campaign.slug,
    ConsentRecord.id,
    ConsentRecord.recorded_at,
    ConsentRecord.confirmed_at,
    ConsentText.version,
    ConsentText.locale,
)


def _network_key() -> ApiKey:
    key = guard("read:supporters", key_required=True)
    if key.network_id is None:  # the key pages refuse the scope without a network; belt and braces
        abort(403, message="This API key belongs to no network, so it has no supporters to read.")
    return key


def _consents(network_id: int) -> Any:
    return (
        consenting(network_id, *_CONSENT_COLUMNS)
        .join(Petition, Petition.id == Signature.petition_id)
        .join(Campaign, Campaign.id == Petition.campaign_id)
        .join(ConsentText, ConsentText.id == ConsentRecord.consent_text_id)
    )


def _consent(row: Any) -> dict[str, Any]:
    return {
        "petition": row.slug,
        "given_date": row.recorded_at,
        "confirmed_date": row.confirmed_at,
        "wording_version": row.version,
        "language": row[9],  # ConsentText.locale (Signature.locale is named `locale` too)
    }


def _person_fields(row: Any) -> dict[str, Any]:
    return {
        "name": row.name or "",
        "email_addresses": [{"address": row.email, "primary": True}],
        "postal_addresses": [{"country": row.country}],
        "languages_spoken": [row[3]],
    }


def _audit(key: ApiKey, records: int) -> None:
    record(
        "api.personal_data_read",
        target=key,
        detail={
            "key": key.prefix,
            "network_id": key.network_id,
            "path": request.path,
            "page": request.args.get("page", "1"),
            "records": records,
        },
        actor=NOBODY,
    )
    commit_unit_of_work()


@blp.route("/people")
@blp.arguments(PageArgs, location="query")
@blp.response(200, PersonPageSchema)
@document_problems(blp, 401, 403, 422, 429)
def list_people(args: dict[str, Any]) -> dict[str, Any]:
    """The network's consenting supporters, one per email address, with every consent each gave
    it; the most recently confirmed last. `filter` applies to the date modified: when their
    latest consent was confirmed."""
    key = _network_key()
    network_id = key.network_id
    modified = func.max(ConsentRecord.confirmed_at)
    query = (
        consenting(network_id, Signature.email, func.max(ConsentRecord.id))
        .group_by(Signature.email)
        .having(*modified_between(args["filter"], modified))
        .order_by(func.max(ConsentRecord.id))
    )

    def render(rows: list[Any]) -> list[dict[str, Any]]:
        emails = [row[0] for row in rows]
        consents: dict[str, list[Any]] = defaultdict(list)
        for row in db.session.execute(
            _consents(network_id).where(Signature.email.in_(emails)).order_by(ConsentRecord.id)
        ):
            consents[row.email].append(row)
        people = []
        for email in emails:
            given = consents[email]
            if not given:  # withdrawn between the two queries
                continue
            latest = given[-1]
            people.append(
                {
                    "identifiers": [person_identifier(network_id, email)],
                    **_person_fields(latest),
                    "created_date": given[0].recorded_at,
                    "modified_date": max(row.confirmed_at for row in given),
                    "consents": [_consent(row) for row in given],
                }
            )
        return people

    answer = page(query, args, "osdi:people", render)
    _audit(key, len(answer["_embedded"]["osdi:people"]))
    return answer


@blp.route("/petitions/<slug>/signatures")
@blp.arguments(PageArgs, location="query")
@blp.response(200, SignaturePageSchema)
@document_problems(blp, 401, 403, 404, 422, 429)
def list_signatures(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """The petition's signatures whose signers agreed that the network may contact them, in the
    order the consents were given. `filter` applies to when the consent was confirmed."""
    key = _network_key()
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.slug == slug, Campaign.kind == CampaignKind.PETITION)
    )
    if campaign is None:
        abort(404, message=f"There is no petition “{slug}”.")
    query = (
        _consents(key.network_id)
        .where(
            Campaign.id == campaign.id,
            *modified_between(args["filter"], ConsentRecord.confirmed_at),
        )
        .order_by(ConsentRecord.id)
    )

    def render(rows: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "identifiers": [identifier("consent", row.id)],
                "created_date": row.recorded_at,
                "modified_date": row.confirmed_at,
                "person": _person_fields(row),
                "consent": _consent(row),
            }
            for row in rows
        ]

    answer = page(query, args, "osdi:signatures", render, slug=slug)
    _audit(key, len(answer["_embedded"]["osdi:signatures"]))
    return answer
