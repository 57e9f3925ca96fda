"""Record a signature collected on a member network's own form (OSDI's record signature),
with `write:signatures`.

It is a signing form's submission in JSON, and is treated as one: the body becomes the petition
page's own `SignatureForm` (the same checks and messages), signs through `signing.sign` (the
same deduplication, the confirmation mail, nothing counted before the signer confirms), counts
against the same per-address limit, and is attributed to the key's network exactly as the
network's `?source=` code attributes a form's. Only a network's key may record signatures:
they are that network's. A network's server has one address for all its visitors, so the
per-address limit of the form is replaced by the key's own rate limit (`guard`).

The answer is the same 202 whether the address is new, waiting for its confirmation or signed
long ago, as the form shows the same page: whether an address has signed is its owner's
business, and the mail tells them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from flask_babel import force_locale
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from webargs.core import is_json, parse_json
from werkzeug.datastructures import MultiDict

from campaigns.api.auth import guard
from campaigns.api.common import document_problems
from campaigns.api.hal import link
from campaigns.api.idempotency import REPLAYED_HEADER, fingerprint, idempotent
from campaigns.api.schemas import ProblemSchema
from campaigns.api.signature_schemas import (
    IdempotencyHeaderSchema,
    SigningAcceptedSchema,
    SigningRequestSchema,
)
from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.db import commit_unit_of_work
from campaigns.core.errors import PROBLEM_JSON
from campaigns.core.ratelimit import over_limit
from campaigns.extensions import db
from campaigns.petitions import signing
from campaigns.petitions.forms import SignatureForm
from campaigns.petitions.network_consent import source_network
from campaigns.petitions.services import signing_target
from campaigns.petitions.submission import signature_input
from campaigns.petitions.views import email_rate_key

blp = Blueprint(
    "api_signatures",
    __name__,
    url_prefix="/api/v1",
    description="Signatures collected on a member network's own form, confirmed by their "
    "signers as every signature is.",
)
SCOPE = "write:signatures"

# The problems this operation gives beyond the shared ones (common.PROBLEMS).
OWN_PROBLEMS = {
    400: "The body is not valid JSON.",
    409: "The petition is not open for signing (paused or closed); or the same "
    "Idempotency-Key came with a different request, or is still being handled.",
    415: "The body is not sent as `application/json`.",
}
ACCEPTED_DETAIL = (
    "A confirmation mail is on its way to the address given. The signature counts once its "
    "owner confirms it with the link in that mail."
)
EXAMPLE = {
    "person": {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email_addresses": [{"address": "ada@example.org"}],
        "postal_addresses": [{"country": "DE"}],
        "languages_spoken": ["de"],
    },
    "comments": "Harm reduction saves lives.",
    "consents": {"public_name": False, "newsletter": False, "network_contact": True},
}


def _before_the_body(view: Callable[..., Any]) -> Callable[..., Any]:
    """Who calls, then what they send, before the body is read: a caller without a key learns
    nothing about bodies (401/403 first), and a body that is not JSON is told so (415, 400)
    rather than taken for an empty one."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        key = guard(SCOPE, key_required=True)
        if key.network is None:
            abort(
                403,
                message="This API key belongs to no network. A signature recorded here is "
                "attributed to the key's network, so only a network's key may record one.",
            )
        if not is_json(request.mimetype):
            abort(415, message="Send the body as JSON, with `Content-Type: application/json`.")
        try:
            parse_json(request.get_data(cache=True))
        except (ValueError, UnicodeDecodeError) as error:
            abort(400, message=f"The body is not valid JSON (UTF-8): {error}.")
        return view(*args, **kwargs)

    return checked


def _document_own_problems(view: Callable[..., Any]) -> Callable[..., Any]:
    for code, description in OWN_PROBLEMS.items():
        view = blp.alt_response(
            code, schema=ProblemSchema, content_type=PROBLEM_JSON, description=description
        )(view)
    return view


@blp.route("/petitions/<slug>/signatures", methods=["POST"])
@_before_the_body
@blp.arguments(
    SigningRequestSchema,
    example=EXAMPLE,
    description="The person, as OSDI describes one, and their choices. Messages about what "
    "is not valid come in the language of `Accept-Language` (en, fr, de).",
)
@blp.arguments(IdempotencyHeaderSchema, location="headers")
@blp.response(
    202,
    SigningAcceptedSchema,
    description="Taken: the signer gets a confirmation mail (or, if the address signed "
    "before, a mail that says so). The same answer in every case.",
    headers={
        REPLAYED_HEADER: {
            "description": "`true` when this is the answer to an earlier request with the "
            "same Idempotency-Key, sent again.",
            "schema": {"type": "string", "enum": ["true"]},
        }
    },
)
@blp.doc(security=[{"bearer": []}])
@document_problems(blp, 401, 403, 404, 422, 429)
@_document_own_problems
def record_signature(body: dict[str, Any], headers: dict[str, Any], slug: str) -> Any:
    """Record a signature collected on a member network's own form.

    Treated as the petition page's form treats a signature: the same checks, one signature per
    address, a confirmation mail to the address, and nothing counted before its owner confirms
    by the link in that mail. It is then counted for the key's network."""
    key = g.api_key
    network_id, network_slug, network_name = key.network.id, key.network.slug, key.network.name
    request_print = fingerprint(slug, request.get_json())
    with idempotent(key.id, headers.get("idempotency_key"), request_print) as slot:
        if slot.replay is not None:
            status, answer = slot.replay
            return answer, status, {REPLAYED_HEADER: "true"}
        campaign_locale = _open_petition_locale(slug)
        locale = _signer_locale(body["person"].get("languages_spoken", []), campaign_locale)
        form, paths = _signing_form(body, network_id)
        if not form.validate():
            abort(
                422,
                message="Some of what was sent is not valid: see `errors`.",
                errors=_errors_by_field(form, paths),
            )
        wants_contact = body.get("consents", {}).get("network_contact")
        if wants_contact and source_network(network_slug) is None:
            abort(
                422,
                message="Some of what was sent is not valid: see `errors`.",
                errors={
                    "consents": {
                        "network_contact": [
                            f"{network_name} takes no consent of its own: its box is "
                            "`newsletter`. Leave this out."
                        ]
                    }
                },
            )
        config = current_app.config
        email_key = email_rate_key(form.email.data)
        if over_limit(("sign-email", email_key, config["RATELIMIT_SIGN_PER_EMAIL"])):
            abort(
                429,
                message="Too many signatures with this address in a short time: try again later.",
                headers={"Retry-After": "60"},
            )
        with force_locale(locale):
            data = signature_input(form, request.base_url, source=network_slug)
        outcome, _signature_id = signing.sign(slug, data)
        commit_unit_of_work()
        if outcome is signing.SignOutcome.CLOSED:  # closed since it was looked at
            _open_petition_locale(slug)
            abort(409, message=f"The petition “{slug}” is not open for signing.")
        answer = {
            "status": "awaiting_confirmation",
            "detail": ACCEPTED_DETAIL,
            "petition": slug,
            "language": locale,
            "_links": {
                "petition": link("api_campaigns.get_petition", slug=slug),
                "counts": link("api_campaigns.petition_counts", slug=slug),
            },
        }
        slot.keep(202, answer)
        return answer, 202


def _open_petition_locale(slug: str) -> str:
    """The language of the petition `slug` if it is open for signing; 404 if there is no such
    public petition, 409 if it is paused or closed (as the form answers)."""
    target = signing_target(slug)
    if target is None:
        abort(404, message=f"There is no public petition “{slug}”.")
    if not target.accepts_signatures:
        why = "paused for the moment" if target.status == CampaignStatus.PAUSED else "closed"
        abort(409, message=f"The petition “{slug}” takes no signatures: it is {why}.")
    return db.session.scalar(select(Campaign.default_locale).where(Campaign.slug == slug))


def _signer_locale(languages: list[str], campaign_locale: str) -> str:
    """The first language the person speaks if the platform speaks it ("de-AT" is "de"), else
    the campaign's own language."""
    supported = current_app.config["LANGUAGES"]
    if languages:
        first = languages[0].strip().replace("_", "-").split("-")[0].lower()
        if first in supported:
            return first
    if campaign_locale in supported:
        return campaign_locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _chosen(items: list[dict[str, Any]]) -> int:
    """The index of the primary one of several addresses, else of the first."""
    return next((i for i, item in enumerate(items) if item.get("primary")), 0)


def _signing_form(
    body: dict[str, Any], network_id: int
) -> tuple[SignatureForm, dict[str, list[tuple[Any, ...]]]]:
    """The petition page's form, filled in as a browser would submit it for this body, and
    where in the body each of its fields came from (for the errors)."""
    person = body["person"]
    emails, countries = person["email_addresses"], person["postal_addresses"]
    email_at, country_at = _chosen(emails), _chosen(countries)
    given, family = person["given_name"].strip(), person.get("family_name", "").strip()
    consents = body.get("consents", {})
    formdata = MultiDict(
        {
            "name": f"{given} {family}".strip(),
            "email": emails[email_at]["address"],
            "country": countries[country_at]["country"],
            "comment": body.get("comments", ""),
        }
    )
    # A box is sent only when ticked, as a browser sends it.
    if consents.get("public_name"):
        formdata["show_name"] = "y"
    if consents.get("newsletter"):
        formdata["newsletter"] = "y"
    # The box "<network> may contact me" was shown only if the client says what was chosen.
    if consents.get("network_contact") is not None:
        formdata["network_consent_for"] = str(network_id)
        if consents["network_contact"]:
            formdata["network_consent"] = "y"
    name_paths = [("person", "given_name")]
    if family:
        name_paths.append(("person", "family_name"))
    paths = {
        "name": name_paths,
        "email": [("person", "email_addresses", email_at, "address")],
        "country": [("person", "postal_addresses", country_at, "country")],
        "comment": [("comments",)],
    }
    return SignatureForm(formdata=formdata), paths


def _errors_by_field(
    form: SignatureForm, paths: dict[str, list[tuple[Any, ...]]]
) -> dict[str, Any]:
    """The form's messages, nested by the body's field names as marshmallow nests its own:
    {"person": {"email_addresses": {0: {"address": ["..."]}}}}."""
    errors: dict[str, Any] = {}
    for name, messages in form.errors.items():
        for path in paths.get(name, [(name,)]):
            node = errors
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node.setdefault(path[-1], []).extend(str(message) for message in messages)
    return errors
