"""Reading campaigns: the live ones, a campaign's version in a language, what staff call it."""

from __future__ import annotations

from babel import Locale
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.campaign.models import Campaign, CampaignStatus, CampaignTranslation
from campaigns.extensions import db


def live_campaigns() -> list[Campaign]:
    """Campaigns taking action now, newest launch first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.LIVE)
            .options(
                selectinload(Campaign.translations),
                selectinload(Campaign.petition),
                selectinload(Campaign.letter_action),
            )
            .order_by(Campaign.launched_at.desc().nulls_last(), Campaign.id.desc())
        )
    )


def staff_title(campaign: Campaign) -> str:
    """What staff call a campaign: its default language's title, whatever its status."""
    for translation in campaign.translations:
        if translation.locale == campaign.default_locale and translation.title:
            return translation.title
    return campaign.slug


def translation_in(campaign: Campaign, locale: str) -> CampaignTranslation | None:
    """The campaign's version in `locale`, draft or ready."""
    return next((t for t in campaign.translations if t.locale == locale), None)


def language_label(code: str) -> str:
    """A language's name in the staff member's language ("French" on an English page)."""
    return Locale.parse(code).get_display_name(str(get_locale())).capitalize()
