"""What a staff member should look at first, each part only for those whose role covers it:
live campaigns with today's count, mailings on their way, deliveries that failed lately, and
translations that are not ready yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from campaigns.campaign.models import Campaign, CampaignStatus, TranslationStatus
from campaigns.campaign.services import staff_title
from campaigns.core.db import utcnow
from campaigns.editor.common import editor_languages
from campaigns.editor.services import language_states
from campaigns.extensions import db
from campaigns.lobbying.models import Letter, LetterAction, LetterStatus
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing, MailingStatus
from campaigns.mailings.progress import mailing_progress
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.petitions.tallies.models import HourlyConfirmations
from campaigns.petitions.tallies.services import current_tally
from campaigns.staff.models import Capability, Role, StaffUser

# A mailing's failed deliveries stay on the home page this long after it finished.
FAILURES_SHOWN_FOR = timedelta(days=7)


@dataclass
class LiveCampaign:
    campaign: Campaign
    title: str
    total: int  # confirmed, as the public page shows it
    today: int  # confirmed since midnight in the staff member's time zone


@dataclass
class MailingUnderway:
    mailing: Mailing
    percent: int  # of the recipient list sent (0 while scheduled)


@dataclass
class FailedMailing:
    mailing: Mailing
    failed: int


@dataclass
class WaitingTranslations:
    campaign: Campaign
    title: str
    languages: dict[str, str]  # code -> "missing" or "draft"


@dataclass
class Attention:
    live: list[LiveCampaign] = field(default_factory=list)
    mailings: list[MailingUnderway] = field(default_factory=list)
    failures: list[FailedMailing] = field(default_factory=list)
    translations: list[WaitingTranslations] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return any((self.live, self.mailings, self.failures, self.translations))


def needs_attention(user: StaffUser, now: datetime | None = None) -> Attention:
    now = now or utcnow()
    attention = Attention()
    since = _start_of_day(now, ZoneInfo(user.timezone))
    if user.role == Role.COORDINATOR:
        # Their own network's figures, as on their dashboards; none without a network.
        if user.network_id is not None:
            attention.live = live_campaigns_of_network(user.network_id, since)
    elif user.can(Capability.VIEW_CAMPAIGNS):
        attention.live = live_campaigns(since)
    if user.can(Capability.SEND_MAILINGS):
        attention.mailings = mailings_underway()
        attention.failures = recent_failures(now - FAILURES_SHOWN_FOR)
    if user.can(Capability.EDIT_CAMPAIGNS):
        attention.translations = waiting_translations()
    return attention


def _start_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def live_campaigns(since: datetime) -> list[LiveCampaign]:
    rows = db.session.execute(
        select(Campaign, Petition.id)
        .join(Petition, Petition.campaign_id == Campaign.id)
        .where(Campaign.status == CampaignStatus.LIVE)
        .order_by(Campaign.id.desc())
    ).all()
    today = dict(
        db.session.execute(
            select(HourlyConfirmations.petition_id, func.sum(HourlyConfirmations.confirmed))
            .where(
                HourlyConfirmations.petition_id.in_([petition_id for _c, petition_id in rows]),
                HourlyConfirmations.hour >= since,
            )
            .group_by(HourlyConfirmations.petition_id)
        ).all()
    )
    petitions = [
        LiveCampaign(
            campaign,
            staff_title(campaign),
            current_tally(petition_id).total,
            max(int(today.get(petition_id) or 0), 0),
        )
        for campaign, petition_id in rows
    ]
    return petitions + live_letter_actions(since)


def live_letter_actions(since: datetime) -> list[LiveCampaign]:
    """The live letter actions with their confirmed letters: in all, and since `since`."""
    confirmed = Letter.status == LetterStatus.CONFIRMED
    rows = db.session.execute(
        select(
            Campaign,
            func.count(Letter.id).filter(confirmed),
            func.count(Letter.id).filter(confirmed & (Letter.confirmed_at >= since)),
        )
        .join(LetterAction, LetterAction.campaign_id == Campaign.id)
        .outerjoin(Letter, Letter.action_id == LetterAction.id)
        .where(Campaign.status == CampaignStatus.LIVE)
        .group_by(Campaign.id)
        .order_by(Campaign.id.desc())
    ).all()
    return [LiveCampaign(c, staff_title(c), total, today) for c, total, today in rows]


def live_campaigns_of_network(network_id: int, since: datetime) -> list[LiveCampaign]:
    """The live campaigns with the confirmed signatures `network_id` brought: in all, today."""
    brought = (Signature.source_network_id == network_id) & (
        Signature.status == SignatureStatus.CONFIRMED
    )
    rows = db.session.execute(
        select(
            Campaign,
            func.count(Signature.id).filter(brought),
            func.count(Signature.id).filter(brought & (Signature.confirmed_at >= since)),
        )
        .join(Petition, Petition.campaign_id == Campaign.id)
        .outerjoin(Signature, Signature.petition_id == Petition.id)
        .where(Campaign.status == CampaignStatus.LIVE)
        .group_by(Campaign.id)
        .order_by(Campaign.id.desc())
    ).all()
    return [
        LiveCampaign(campaign, staff_title(campaign), total, today)
        for campaign, total, today in rows
    ]


def mailings_underway() -> list[MailingUnderway]:
    underway = (MailingStatus.SENDING, MailingStatus.PAUSED, MailingStatus.SCHEDULED)
    mailings = db.session.scalars(
        select(Mailing).where(Mailing.status.in_(underway)).order_by(Mailing.id)
    ).all()
    return [MailingUnderway(m, mailing_progress(m).percent) for m in mailings]


def recent_failures(since: datetime) -> list[FailedMailing]:
    failed = (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)
    rows = db.session.execute(
        select(Mailing, func.count(Delivery.id))
        .join(Delivery, Delivery.mailing_id == Mailing.id)
        .where(
            Delivery.status.in_(failed),
            or_(Mailing.finished_at.is_(None), Mailing.finished_at >= since),
        )
        .group_by(Mailing.id)
        .order_by(Mailing.id.desc())
    ).all()
    return [FailedMailing(mailing, count) for mailing, count in rows]


def waiting_translations() -> list[WaitingTranslations]:
    """Campaigns not yet over whose texts are missing or still drafts in a platform language."""
    open_statuses = (CampaignStatus.DRAFT, CampaignStatus.LIVE, CampaignStatus.PAUSED)
    campaigns = db.session.scalars(
        select(Campaign).where(Campaign.status.in_(open_statuses)).order_by(Campaign.id.desc())
    ).all()
    waiting = []
    for campaign in campaigns:
        states = language_states(campaign, editor_languages())
        not_ready = {
            code: state for code, state in states.items() if state != TranslationStatus.READY
        }
        if not_ready:
            waiting.append(WaitingTranslations(campaign, staff_title(campaign), not_ready))
    return waiting
