from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.extensions import db


def live_campaigns() -> list[Campaign]:
    """Campaigns taking action now, newest launch first."""
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.LIVE)
            .options(selectinload(Campaign.translations), selectinload(Campaign.petition))
            .order_by(Campaign.launched_at.desc().nulls_last(), Campaign.id.desc())
        )
    )
