"""What the tests of recording a signature through the API share: a network's key, a body as a
network's server sends it, and the post."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select

from campaigns.api.signature_views import EXAMPLE
from campaigns.api_keys.services import create_key
from campaigns.core.events import Event
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.models import ConsentRecord, Signature

SLUG = "naloxone-in-every-pocket"
URL = f"/api/v1/petitions/{SLUG}/signatures"

# The documented example, with the network's box left unticked.
BODY: dict[str, Any] = {
    **copy.deepcopy(EXAMPLE),
    "consents": {"public_name": False, "newsletter": False},
}


def network(slug: str) -> Network:
    return db.session.scalar(select(Network).where(Network.slug == slug))


def key_for(network_slug: str | None = "asud", *scopes: str) -> str:
    """A new key of that network (None: of no network), `write:signatures` unless told."""
    owner = network(network_slug) if network_slug else None
    _key, token = create_key(f"{network_slug} site", scopes or ["write:signatures"], owner)
    db.session.commit()
    return token


def body(**person: Any) -> dict[str, Any]:
    """BODY with these person fields changed (`email` and `country` for the first address)."""
    made = copy.deepcopy(BODY)
    if "email" in person:
        made["person"]["email_addresses"] = [{"address": person.pop("email")}]
    if "country" in person:
        made["person"]["postal_addresses"] = [{"country": person.pop("country")}]
    made["person"].update(person)
    return made


def post(client, token: str | None, payload: Any = None, url: str = URL, **headers: str):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if "Idempotency_Key" in headers:
        headers["Idempotency-Key"] = headers.pop("Idempotency_Key")
    return client.post(url, json=BODY if payload is None else payload, headers=headers)


def stored() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Signature, ConsentRecord, Event)
    }


NOTHING = {"Signature": 0, "ConsentRecord": 0, "Event": 0}
