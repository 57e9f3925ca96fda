from __future__ import annotations

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.networks.models import Network


def member_networks() -> list[Network]:
    """The national member networks (not the umbrella), by country."""
    return list(
        db.session.scalars(
            select(Network)
            .where(Network.is_umbrella.is_(False))
            .order_by(Network.country_code, Network.name)
        )
    )
