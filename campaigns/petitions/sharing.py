"""What a member network may read of a supporter, and its end.

A network reads (its supporters page, its export, `GET /api/v1/people`) only the supporters who
ticked "<network> may contact me" for THAT network, confirmed it with their address and have not
withdrawn it, on a signature still confirmed: `consenting` asks all of it, and every reader
starts from it.

When that ends for an address a network could read (a withdrawal on the preferences page, a
signature withdrawn or rejected with "it wasn't me", which erases the address), the network must
delete its copy (GDPR Art. 7(3), 19): `record_withdrawals` records a `network_consent.withdrawn`
event per network, in the transaction of the change, and campaigns.alerts.withdrawals tells the
network. Only networks that read the address until then and no longer do are told: one that
still has another signature's consent of it keeps the person.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select

from campaigns.core.events import record_event
from campaigns.extensions import db
from campaigns.petitions.models import ConsentRecord, Signature, SignatureStatus

WITHDRAWN_EVENT = "network_consent.withdrawn"
# Why the network no longer may contact the person.
WITHDRAWN = "withdrawn"  # they withdrew the consent on their preferences page
ERASED = "erased"  # their signature was withdrawn or rejected: their data is erased
REASONS = (WITHDRAWN, ERASED)


def _readable() -> list[ColumnElement[bool]]:
    return [
        ConsentRecord.granted.is_(True),
        ConsentRecord.confirmed_at.is_not(None),
        ConsentRecord.withdrawn_at.is_(None),
        Signature.status == SignatureStatus.CONFIRMED,
        # "It wasn't me" erases the address and sets the status REJECTED; both are asked.
        Signature.email.is_not(None),
    ]


def consenting(network_id: int, *columns: object) -> Select:
    """`columns` of each consent this network may use, with its signature joined (the query every
    reader of shared supporters starts from: the page, the export, the API)."""
    return (
        select(*columns)
        .select_from(ConsentRecord)
        .join(Signature, Signature.id == ConsentRecord.signature_id)
        .where(ConsentRecord.network_id == network_id, *_readable())
    )


def networks_reading(email: str | None) -> set[int]:
    """The networks whose readers show `email` now."""
    if email is None:
        return set()
    return set(
        db.session.scalars(
            select(ConsentRecord.network_id)
            .distinct()
            .join(Signature, Signature.id == ConsentRecord.signature_id)
            .where(Signature.email == email, ConsentRecord.network_id.is_not(None), *_readable())
        )
    )


def record_withdrawals(email: str, network_ids: Iterable[int], reason: str, at: datetime) -> None:
    """Record, in the caller's transaction, that `email` no longer may be contacted by each of
    `network_ids` (networks that could read it until now). The caller commits."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    for network_id in sorted(set(network_ids)):
        record_event(
            WITHDRAWN_EVENT,
            network_id=network_id,
            email=email,
            withdrawn_at=at.isoformat(),
            reason=reason,
        )
