"""Reading the member networks. A deactivated network keeps its history but takes part in
nothing new: these are the checks every part of the platform uses to find one."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.networks.models import Network


def member_networks() -> list[Network]:
    """The national member networks (not the umbrella), by country."""
    networks = db.session.scalars(
        select(Network).where(Network.is_umbrella.is_(False), Network.is_active.is_(True))
    )
    return sorted(networks, key=lambda network: (network.country_code or "", network.name))


def active_network(slug: str | None) -> Network | None:
    """The active network whose slug (its `?source=` code) this is, or None: an unknown code
    and a deactivated network's code are alike, they credit nobody and show no page."""
    slug = (slug or "").strip().lower()
    if not slug or len(slug) > 40:
        return None
    return db.session.scalar(
        select(Network).where(Network.slug == slug, Network.is_active.is_(True))
    )


def attributable_network_id(source: str | None) -> int | None:
    """The id of the network a `?source=` code credits with a new signature or letter, if any."""
    network = active_network(source)
    return network.id if network is not None else None
