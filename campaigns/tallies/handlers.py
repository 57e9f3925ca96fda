"""Event handlers that keep the counters and milestones. Both are idempotent per signature."""

from __future__ import annotations

from campaigns.core.events import Event, handles
from campaigns.extensions import db
from campaigns.petitions.models import Signature, SignatureStatus
from campaigns.tallies import services


@handles("signature.confirmed")
def count_signature(event: Event) -> None:
    signature = db.session.get(Signature, event.payload["signature_id"])
    if signature is None or signature.status != SignatureStatus.CONFIRMED:
        return
    total = services.count_confirmed(signature)
    if total is None:
        total = services.current_tally(signature.petition_id).total
    services.record_milestones(signature.petition, total)


@handles("signature.rejected")
def uncount_signature(event: Event) -> None:
    signature = db.session.get(Signature, event.payload["signature_id"])
    if signature is not None and event.payload.get("was_confirmed"):
        services.forget_counters(signature.petition_id)
