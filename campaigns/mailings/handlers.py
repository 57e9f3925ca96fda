"""Event handlers of the mailings domain."""

from __future__ import annotations

from sqlalchemy import String, cast, literal, update

from campaigns.core.events import Event, handles
from campaigns.extensions import db
from campaigns.mailings import lifecycle
from campaigns.mailings.models import Delivery, DeliveryStatus


@handles("signature.rejected")
def forget_withdrawn_signature(event: Event) -> None:
    """'It wasn't me': the address's owner never signed, so nothing still to send goes to them on
    this signature's account, and the mailings keep neither the address nor the name. Idempotent:
    running it twice changes nothing more."""
    signature_id = event.payload["signature_id"]
    db.session.execute(
        update(Delivery)
        .where(
            Delivery.signature_id == signature_id,
            Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
        )
        .values(status=DeliveryStatus.SKIPPED, error="signature withdrawn"),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(Delivery)
        .where(Delivery.signature_id == signature_id)
        # Unique per row, so the (mailing, email) key still holds.
        .values(email=literal("erased:") + cast(Delivery.id, String), first_name=""),
        execution_options={"synchronize_session": False},
    )


@handles("mailing.send_now")
def start_sending_now(event: Event) -> None:
    """Staff chose to send now: start at once. Does nothing if the mailing was unscheduled,
    cancelled or started by beat's tick meanwhile."""
    mailing_id = event.payload["mailing_id"]
    if lifecycle.start(mailing_id):
        db.session.commit()  # sending, before the batches look for it
        lifecycle.start_batches(mailing_id)
