"""Event handlers that alert the member networks subscribed to a topic: a campaign launched, a
petition's milestone, an urgent action staff published, a mailing sent. Each makes its alerts
in the event's transaction (fan_out.py), keyed by network and occasion, so running it again
makes nothing twice."""

from __future__ import annotations

from campaigns.alerts import payloads
from campaigns.alerts.fan_out import fan_out
from campaigns.alerts.models import Topic, UrgentAction
from campaigns.alerts.topics import (
    launch_occasion,
    mailing_occasion,
    milestone_occasion,
    urgent_occasion,
)
from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.events import Event, handles
from campaigns.extensions import db
from campaigns.mailings.models import Mailing, MailingStatus
from campaigns.networks.models import Network
from campaigns.petitions.models import Petition


@handles("campaign.launched")
def alert_launch(event: Event) -> None:
    campaign = db.session.get(Campaign, event.payload["campaign_id"])
    if campaign is None or campaign.status == CampaignStatus.DRAFT:
        return
    occasion = launch_occasion(campaign.id)

    def build(network: Network) -> dict:
        return payloads.launched(network, occasion, campaign)

    fan_out(Topic.CAMPAIGN_LAUNCHED, occasion, build)


@handles("petition.milestone_reached")
def alert_milestone(event: Event) -> None:
    petition = db.session.get(Petition, event.payload["petition_id"])
    if petition is None:
        return
    threshold = int(event.payload["threshold"])
    kind = event.payload.get("kind", "count")
    occasion = milestone_occasion(petition.id, threshold)
    count = payloads.confirmed_count(petition.id)

    def build(network: Network) -> dict:
        return payloads.milestone(network, occasion, petition, threshold, kind, count)

    fan_out(Topic.MILESTONE_REACHED, occasion, build)


@handles("urgent_action.published")
def alert_urgent_action(event: Event) -> None:
    action = db.session.get(UrgentAction, event.payload["urgent_action_id"])
    if action is None or action.sent_at is None:
        return
    occasion = urgent_occasion(action.id)

    def build(network: Network) -> dict:
        return payloads.urgent(network, occasion, action)

    fan_out(Topic.URGENT_ACTION, occasion, build)


@handles("mailing.sent")
def alert_mailing_sent(event: Event) -> None:
    mailing = db.session.get(Mailing, event.payload["mailing_id"])
    if mailing is None or mailing.status != MailingStatus.SENT:
        return
    occasion = mailing_occasion(mailing.id)
    recipients = payloads.mailing_recipients(mailing.id)

    def build(network: Network) -> dict:
        return payloads.mailing(network, occasion, mailing, recipients)

    fan_out(Topic.MAILING_SENT, occasion, build)
