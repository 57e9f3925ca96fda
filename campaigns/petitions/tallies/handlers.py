"""Event handlers that keep the counters, the hourly series and the milestones. Each is
idempotent per signature."""

from __future__ import annotations

from campaigns.core.events import Event, handles
from campaigns.extensions import db
from campaigns.petitions.models import Signature, SignatureStatus
from campaigns.petitions.tallies import hourly, services


@handles("signature.confirmed")
def count_signature(event: Event) -> None:
    signature = db.session.get(Signature, event.payload["signature_id"])
    if signature is None or signature.confirmed_at is None:
        return
    # Counted in the hour even if the signature was withdrawn since: the withdrawal's own event
    # takes it off again, whichever of the two runs first.
    if hourly.claim_event(event):
        hourly.count_hourly(signature, +1)
    if signature.status != SignatureStatus.CONFIRMED:
        return
    total = services.count_confirmed(signature)
    if total is None:
        total = services.current_tally(signature.petition_id).total
    services.record_milestones(signature.petition, total)


@handles("signature.rejected")
def uncount_signature(event: Event) -> None:
    signature = db.session.get(Signature, event.payload["signature_id"])
    if signature is None or not event.payload.get("was_confirmed"):
        return
    if signature.confirmed_at is not None and hourly.claim_event(event):
        hourly.count_hourly(signature, -1)
    services.forget_counters(signature.petition_id)
