"""Records put back, before each example, into the state a form is shown in: a button that
launches a campaign is only there while it is a draft, a deleted endpoint has no page, a code
works once. Each example of a button's fuzzing then presses it, not a missing one."""

from __future__ import annotations

from sqlalchemy import update

from campaigns.core.db import utcnow


def set_campaign_status(campaign_id: int, status: str) -> None:
    from campaigns.campaign.models import Campaign, CampaignStatus
    from campaigns.extensions import db

    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(status=CampaignStatus(status), delivery_note=None)
    )
    db.session.commit()


def add_endpoint(network_id: int, *, active: bool = True) -> tuple[int, int]:
    """A webhook endpoint with a message that failed (in its delivery log, with a resend button)
    and one cancelled before its first try; returns the ids of the endpoint and the first."""
    from campaigns.extensions import db
    from campaigns.webhooks.models import (
        WebhookAttempt,
        WebhookDelivery,
        WebhookEndpoint,
        WebhookStatus,
    )

    endpoint = WebhookEndpoint(
        network_id=network_id, url="https://hooks.example.org/in", secret="whsec_fuzz"
    )
    endpoint.is_active = active
    db.session.add(endpoint)
    db.session.flush()
    messages = [
        WebhookDelivery(
            endpoint_id=endpoint.id,
            message_id=f"msg_fuzz_{endpoint.id}_{status.value}",
            event_type="campaign.launched",
            body="{}",
            status=status,
            attempts=attempts,
        )
        for status, attempts in ((WebhookStatus.FAILED, 1), (WebhookStatus.CANCELLED, 0))
    ]
    db.session.add_all(messages)
    db.session.flush()
    db.session.add(
        WebhookAttempt(
            delivery_id=messages[0].id,
            endpoint_id=endpoint.id,
            number=1,
            attempted_at=utcnow(),
            status_code=500,
            latency_ms=120,
            detail="Internal Server Error",
        )
    )
    db.session.commit()
    return endpoint.id, messages[0].id


def ready_to_sign_in(email: str) -> None:
    """No failed attempts counted against the address, and its current code not spent yet."""
    from sqlalchemy import select

    from campaigns.extensions import db
    from campaigns.staff import services
    from campaigns.staff.models import StaffUser

    services._clear_failures(email)  # what the lockout's expiry does
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    user.totp_last_step = None
    db.session.commit()
