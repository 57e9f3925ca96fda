"""What an alert says, as the `data` of its webhook (and the context of its email): built once,
in the network's language, when the alert is made, and kept on the Alert.

Every payload has `network` (its slug), `topic`, `occasion`, `locale` and `campaign` (or null):
{"slug", "title", "kind", "url"}, the URL with `?source=<network slug>` so the signatures it
brings count for the network. Each topic adds its own fields (README, "Alerts to member
networks"). The webhook body around it carries `"version": 1` (webhooks.outgoing)."""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import format_decimal
from sqlalchemy import func, select

from campaigns.alerts.models import Topic, UrgentAction
from campaigns.campaign.models import Campaign, CampaignKind
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing
from campaigns.networks.models import Network
from campaigns.petitions.models import Petition
from campaigns.petitions.tallies.services import current_tally


def alert_locale(network: Network) -> str:
    """The network's language where the platform speaks it, else the default (English)."""
    config = current_app.config
    return network.locale if network.locale in config["LANGUAGES"] else "en"


def campaign_url(campaign: Campaign, network: Network, locale: str) -> str:
    """The campaign's public page in `locale`, attributing what it brings to `network`."""
    endpoint = "lobbying.write" if campaign.kind == CampaignKind.LETTER else "petitions.petition"
    return public_url(endpoint, lang=locale, slug=campaign.slug, source=network.slug)


def campaign_data(campaign: Campaign | None, network: Network, locale: str) -> dict | None:
    if campaign is None:
        return None
    translation = campaign.translation_for(locale)
    return {
        "slug": campaign.slug,
        "title": translation.title if translation else campaign.slug,
        "kind": str(campaign.kind),
        "url": campaign_url(campaign, network, locale),
    }


def base(network: Network, topic: Topic, occasion: str, campaign: Campaign | None) -> dict:
    locale = alert_locale(network)
    return {
        "network": network.slug,
        "topic": str(topic),
        "occasion": occasion,
        "locale": locale,
        "campaign": campaign_data(campaign, network, locale),
    }


def launched(network: Network, occasion: str, campaign: Campaign) -> dict:
    return base(network, Topic.CAMPAIGN_LAUNCHED, occasion, campaign)


def milestone(
    network: Network, occasion: str, petition: Petition, threshold: int, kind: str, count: int
) -> dict:
    return {
        **base(network, Topic.MILESTONE_REACHED, occasion, petition.campaign),
        "threshold": threshold,
        "kind": kind,  # "count": a round number; "goal": the petition's goal
        "count": max(count, threshold),
        "goal": petition.goal,
    }


def confirmed_count(petition_id: int) -> int:
    """The confirmed count a milestone alert reports (Redis when it has it)."""
    return current_tally(petition_id).total


def urgent(network: Network, occasion: str, action: UrgentAction) -> dict:
    data = base(network, Topic.URGENT_ACTION, occasion, _campaign(action.campaign_id))
    translation = action.translation_for(data["locale"])
    data["urgent_action"] = {
        "id": action.id,
        "title": translation.title if translation else "",
        "text": translation.text if translation else "",
        "locale": translation.locale if translation else data["locale"],
        "link": action.link,
        "deadline": action.deadline.isoformat() if action.deadline else None,
    }
    return data


def mailing(network: Network, occasion: str, sent: Mailing, recipients: int) -> dict:
    """A mailing's subject in its default language and how many it reached: nothing about
    who they were."""
    data = base(network, Topic.MAILING_SENT, occasion, _campaign(sent.action_campaign_id))
    version = next((v for v in sent.versions if v.locale == sent.default_locale), None)
    data["mailing"] = {
        "id": sent.id,
        "subject": version.subject if version else sent.name,
        "recipients": recipients,
        "finished_at": sent.finished_at.isoformat() if sent.finished_at else None,
    }
    return data


def mailing_recipients(mailing_id: int) -> int:
    """How many recipients the mailing was sent to (the server accepted it)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.SENT)
    )


def digest(
    network: Network,
    occasion: str,
    week: str,
    first_day: date,
    last_day: date,
    rows: list[tuple[Campaign, int, int]],
) -> dict:
    """`rows`: (live campaign, confirmed in the week, confirmed in all) brought by the network;
    for a letter campaign the counts are of confirmed letters."""
    data = base(network, Topic.WEEKLY_DIGEST, occasion, None)
    data["week"] = {"label": week, "from": first_day.isoformat(), "to": last_day.isoformat()}
    data["campaigns"] = [
        {
            **campaign_data(campaign, network, data["locale"]),
            "signatures_last_week": last_week,
            "signatures_total": total,
        }
        for campaign, last_week, total in rows
    ]
    data["totals"] = {
        "signatures_last_week": sum(row[1] for row in rows),
        "signatures_total": sum(row[2] for row in rows),
    }
    return data


def _campaign(campaign_id: int | None) -> Campaign | None:
    return db.session.get(Campaign, campaign_id) if campaign_id is not None else None


def title_of(payload: dict) -> str:
    """What the alert was about, in a few words, for the alert log."""
    if payload.get("urgent_action"):
        return payload["urgent_action"]["title"]
    if payload.get("mailing"):
        return payload["mailing"]["subject"]
    if payload.get("week"):
        return payload["week"]["label"]
    if payload.get("campaign"):
        title = payload["campaign"]["title"]
        if "threshold" in payload:
            return f"{title}: {format_decimal(payload['threshold'])}"
        return title
    return payload.get("occasion", "")
