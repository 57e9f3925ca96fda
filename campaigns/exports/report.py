"""The figures of a petition delivery report: confirmed signatures in all, by country, and the
names of the signers who agreed to have their name shown."""

from __future__ import annotations

from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.petitions.models import Signature, SignatureStatus
from campaigns.petitions.tallies.services import Tally, current_tally


def report_tally(petition_id: int, network_id: int | None) -> Tally:
    """Confirmed signatures, all of them (the live counters) or only those `network_id` brought
    (counted in the database: the counters do not split countries by network)."""
    if network_id is None:
        return current_tally(petition_id)
    tally = Tally()
    query = (
        select(Signature.country, func.count())
        .where(
            Signature.petition_id == petition_id,
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.source_network_id == network_id,
        )
        .group_by(Signature.country)
    )
    for country, n in db.session.execute(query):
        tally.add(country, network_id, n)
    return tally


def public_names(petition_id: int, network_id: int | None) -> list[tuple[str, str]]:
    """(country, name) of confirmed signers who ticked "show my name publicly", by country."""
    query = select(Signature.country, Signature.name).where(
        Signature.petition_id == petition_id,
        Signature.status == SignatureStatus.CONFIRMED,
        Signature.show_name.is_(True),
        Signature.name.is_not(None),
    )
    if network_id is not None:
        query = query.where(Signature.source_network_id == network_id)
    return [
        tuple(row) for row in db.session.execute(query.order_by(Signature.country, Signature.name))
    ]
