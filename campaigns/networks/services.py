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
