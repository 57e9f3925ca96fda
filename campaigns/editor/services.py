"""Writing campaigns: create one with its petition or its letter action, change its settings,
save a language's version. Each change is audited in the caller's transaction; the caller
commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.audit.services import record
from campaigns.campaign.models import (
    Campaign,
    CampaignKind,
    CampaignStateChange,
    CampaignStatus,
    CampaignTranslation,
    TranslationStatus,
)
from campaigns.campaign.services import translation_in
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.lobbying.models import EditPolicy, LetterAction, SelectionRule
from campaigns.networks.models import Network
from campaigns.petitions.models import Petition
from campaigns.staff.models import StaffUser

# A language's state for a campaign, as staff see it: no version yet, a draft, or ready.
MISSING = "missing"


def all_campaigns() -> list[Campaign]:
    """Every campaign for the staff list, newest first, with what the list shows loaded."""
    return list(
        db.session.scalars(
            select(Campaign)
            .options(
                selectinload(Campaign.translations),
                selectinload(Campaign.petition),
                selectinload(Campaign.letter_action),
                selectinload(Campaign.lead_network),
            )
            .order_by(Campaign.id.desc())
        )
    )


def language_states(campaign: Campaign, languages: tuple[str, ...]) -> dict[str, str]:
    """For each language: "missing", "draft" or "ready"."""
    states = dict.fromkeys(languages, MISSING)
    for translation in campaign.translations:
        if translation.locale in states:
            states[translation.locale] = TranslationStatus(translation.status).value
    return states


def network_choices() -> list[Network]:
    return list(
        db.session.scalars(select(Network).order_by(Network.is_umbrella.desc(), Network.name))
    )


def network_exists(network_id: int | None) -> bool:
    return network_id is not None and db.session.get(Network, network_id) is not None


def slug_taken(slug: str, except_campaign_id: int | None = None) -> bool:
    query = select(Campaign.id).where(Campaign.slug == slug)
    if except_campaign_id is not None:
        query = query.where(Campaign.id != except_campaign_id)
    return db.session.scalar(query) is not None


@dataclass
class Settings:
    """A campaign's settings as the editor submits them (a letter has no goal, deadline or ECI
    progress: those stay None for it)."""

    slug: str
    default_locale: str
    lead_network_id: int
    goal: int | None = None
    deadline: date | None = None
    eci_progress: bool | None = None
    kind: CampaignKind = CampaignKind.PETITION


PETITION_SETTINGS = ("goal", "deadline", "eci_progress")


def new_letter_action() -> LetterAction:
    """A new letter campaign's action: the supporter's own MEPs, members of the civil liberties
    (LIBE) and public health (SANT) committees first, five at most; a paragraph of their own."""
    return LetterAction(
        rule=SelectionRule.OWN_COUNTRY,
        committees="LIBE SANT",
        max_targets=5,
        edit_policy=EditPolicy.NOTE,
    )


@dataclass
class Text:
    """One language's version of a campaign."""

    title: str
    summary: str
    target: str
    body_markdown: str
    status: TranslationStatus
    letter_subject: str = ""
    letter_body: str = ""


def create_campaign(settings: Settings, text: Text, staff: StaffUser) -> Campaign:
    """A draft campaign with its petition (or, for a letter, its letter action) and its default
    language's text."""
    campaign = Campaign(
        slug=settings.slug,
        kind=settings.kind,
        status=CampaignStatus.DRAFT,
        default_locale=settings.default_locale,
        lead_network_id=settings.lead_network_id,
        created_by_id=staff.id,
    )
    if settings.kind == CampaignKind.LETTER:
        campaign.letter_action = new_letter_action()
    else:
        campaign.petition = Petition(
            goal=settings.goal, deadline=settings.deadline, eci_progress=bool(settings.eci_progress)
        )
    campaign.translations.append(CampaignTranslation(locale=settings.default_locale, **vars(text)))
    campaign.state_changes.append(
        CampaignStateChange(
            from_status=None,
            to_status=CampaignStatus.DRAFT.value,
            changed_by_id=staff.id,
            changed_at=utcnow(),
        )
    )
    db.session.add(campaign)
    db.session.flush()  # the audit entry names the campaign by its id
    record(
        "campaign.created",
        target=campaign,
        campaign_id=campaign.id,
        detail={
            "slug": campaign.slug,
            "locale": settings.default_locale,
            "kind": settings.kind.value,
        },
        actor=staff,
    )
    return campaign


def update_settings(campaign: Campaign, settings: Settings, staff: StaffUser) -> list[str]:
    """Apply the settings; returns the names of those that changed (also written to the audit).
    A letter campaign has no petition: its goal, deadline and ECI progress are left alone."""
    petition = campaign.petition
    targets = {"slug": campaign, "default_locale": campaign, "lead_network_id": campaign}
    if petition is not None:
        targets.update(dict.fromkeys(PETITION_SETTINGS, petition))
    changed = []
    for name, target in targets.items():
        value = getattr(settings, name)
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    if changed:
        campaign.touch()  # a petition's goal or deadline lives in its own row
        record(
            "campaign.updated",
            target=campaign,
            campaign_id=campaign.id,
            detail={"settings": changed},
            actor=staff,
        )
    return changed


def save_translation(
    campaign: Campaign, locale: str, text: Text, staff: StaffUser
) -> CampaignTranslation:
    """Create or update the campaign's version in `locale`."""
    translation = translation_in(campaign, locale)
    if translation is None:
        translation = CampaignTranslation(locale=locale)
        campaign.translations.append(translation)
    changed = [name for name, value in vars(text).items() if getattr(translation, name) != value]
    for name, value in vars(text).items():
        setattr(translation, name, value)
    if changed:
        campaign.touch()
        record(
            "campaign.updated",
            target=campaign,
            campaign_id=campaign.id,
            detail={"locale": locale, "status": text.status.value, "fields": changed},
            actor=staff,
        )
    return translation
