from __future__ import annotations

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.networks.models import Network


def network_id_by_source_code(code: str | None) -> int | None:
    """The id of the network a `?source=` code names, or None for an empty or unknown code."""
    if not code:
        return None
    return db.session.scalar(select(Network.id).where(Network.slug == code.strip().lower()[:40]))


def member_networks() -> list[Network]:
    """The national member networks (not the umbrella), by country."""
    return list(
        db.session.scalars(
            select(Network)
            .where(Network.is_umbrella.is_(False))
            .order_by(Network.country_code, Network.name)
        )
    )
