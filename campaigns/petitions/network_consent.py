"""Which member network the signing form offers the box "<network> may contact me" for, and
whether the network a submitted form names may really take that consent.

A network is offered when it brought the signer (its `?source=` code, or the embed it serves) or
when it works in the signer's country. The country is known only once chosen, so the page
carries every country's offer (the same for every visitor: the page cache keeps working) and
static/forms.js shows the right one; without JavaScript only the first case shows the box
(and, after a validation error, the chosen country's). Only active member networks take
consents: never the umbrella network, whose own newsletter box is already on the form.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select

from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.consent import NetworkConsent, network_wording


@dataclass(frozen=True)
class NetworkOffer:
    """The box as the form shows it: for which network, and its label in the page's language
    (exactly the wording a consent record stores)."""

    network_id: int
    name: str
    text: str


def _consenting_networks() -> Select[tuple[Network]]:
    return select(Network).where(Network.is_active.is_(True), Network.is_umbrella.is_(False))


def offer_for(network: Network, locale: str) -> NetworkOffer:
    return NetworkOffer(network.id, network.name, network_wording(network.name, locale))


def source_network(source: str | None) -> Network | None:
    """The active member network whose `?source=` code this is, if any."""
    slug = (source or "").strip().lower()[:40]
    if not slug:
        return None
    return db.session.scalar(_consenting_networks().where(Network.slug == slug))


def country_offers(locale: str) -> dict[str, NetworkOffer]:
    """Country code -> the member network offered to a signer of that country. Where several
    networks work in one country, the oldest member (lowest id) is offered: one box, one name,
    never a list of organisations to sort through while signing."""
    offers: dict[str, NetworkOffer] = {}
    for network in db.session.scalars(_consenting_networks().order_by(Network.id)):
        for country in network.countries or ():
            offers.setdefault(country, offer_for(network, locale))
    return offers


def accepted_network_consent(
    network_id: int | None, granted: bool, source: str | None, country: str
) -> NetworkConsent | None:
    """The choice to record for the network a submitted form names (its hidden field), or None
    when the form named none, or one that may not take it: only an active member network, and
    only the one that brought the signer or one that works in the signer's country. A forged or
    stale field is ignored, never an error: the signature itself is still valid."""
    if network_id is None:
        return None
    network = db.session.scalar(_consenting_networks().where(Network.id == network_id))
    if network is None:
        return None
    brought_by = network.slug == (source or "").strip().lower()[:40]
    if not brought_by and country not in (network.countries or ()):
        return None
    return NetworkConsent(network.id, network.name, granted)
