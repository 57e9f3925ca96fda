"""Telling a member network that a supporter withdrew the consent given to it, so that it deletes
them (GDPR Art. 7(3), and Art. 19: an erasure is communicated to each recipient).

A network reads the supporters who said it may contact them (the export, `GET /api/v1/people`);
a withdrawal takes them out of the next answer, but a copy already in the network's CRM stays.
So every withdrawal the network could have read is told to it:

1. a withdrawal on the preferences page, or a signature withdrawn or rejected ("it wasn't me"),
   records a `network_consent.withdrawn` event per network that could read the address, in the
   transaction of the change (campaigns.petitions.sharing.record_withdrawals);
2. its handler (`tell_network`) queues a `supporter.consent_withdrawn` webhook to every active
   endpoint of the network, with the same webhook-id on every retry, and keeps the withdrawal
   (`NetworkWithdrawal`) until the network has it;
3. what no endpoint received (none active, or every delivery failed for good) goes in the
   network's daily email to its contacts (campaigns.alerts.withdrawal_mail).

Unlike alerts, this is no topic a network subscribes to: honouring a withdrawal is not optional.
The webhook says only what the network needs to find and delete the person: the identifier the
API gives that network, the address, when and why (withdrawn, or erased with the signature).
"""

from __future__ import annotations

from datetime import datetime

from campaigns.alerts.withdrawal_models import NetworkWithdrawal
from campaigns.api.hal import person_identifier
from campaigns.core.db import insert_unless_present
from campaigns.core.events import Event, handles
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.sharing import WITHDRAWN_EVENT
from campaigns.webhooks import outgoing

EVENT_TYPE = WITHDRAWN_EVENT
WEBHOOK_TYPE = "supporter.consent_withdrawn"


def message_id_of(event_id: str) -> str:
    """The webhook-id of an event's message: derived from the event, so a handler that runs
    twice queues nothing twice (outgoing.enqueue is unique per endpoint and id)."""
    return f"msg_{event_id}"


def webhook_data(network: Network, email: str, withdrawn_at: str, reason: str) -> dict:
    """The `data` of a `supporter.consent_withdrawn` webhook: nothing else about the person."""
    when = datetime.fromisoformat(withdrawn_at).isoformat().replace("+00:00", "Z")
    return {
        "network": network.slug,
        "person": {
            "identifiers": [person_identifier(network.id, email)],
            "email_address": email,
        },
        "withdrawn_at": when,
        "reason": reason,
    }


@handles(EVENT_TYPE)
def tell_network(event: Event) -> None:
    """Queue the webhook for the network's active endpoints and keep the withdrawal for the
    daily email, which lists it unless an endpoint receives the webhook. Idempotent: both are
    keyed by the event."""
    payload = event.payload
    network = db.session.get(Network, payload["network_id"])
    if network is None:
        return
    message_id = message_id_of(event.id)
    db.session.execute(
        insert_unless_present(NetworkWithdrawal).values(
            event_id=event.id,
            network_id=network.id,
            email=payload["email"],
            reason=payload["reason"],
            withdrawn_at=datetime.fromisoformat(payload["withdrawn_at"]),
            message_id=message_id,
        )
    )
    data = webhook_data(network, payload["email"], payload["withdrawn_at"], payload["reason"])
    # Every active endpoint, whatever the network subscribed to; none for a deactivated one.
    outgoing.enqueue(network.id, message_id, WEBHOOK_TYPE, data)
