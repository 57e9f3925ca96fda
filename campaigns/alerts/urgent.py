"""Urgent actions: staff write a short alert (per language), and sending it records the
UrgentAction and the event "urgent_action.published" in one transaction; the event's handler
then makes one alert per subscribed network (handlers.py).

A form is sent once: its one-time token is stored with the UrgentAction, unique, in the same
transaction. A second press (or a reloaded POST) finds it and sends nothing; a commit that
failed stored nothing, so sending the same form again sends it. (A Redis key set before the
commit answered "sent already" to that retry, though nothing was sent.)"""

from __future__ import annotations

from sqlalchemy import exists, select

from campaigns.alerts.audience import Reach
from campaigns.alerts.forms import UrgentActionForm
from campaigns.alerts.models import UrgentAction, UrgentActionTranslation
from campaigns.audit.services import record as audit
from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.campaign.services import staff_title
from campaigns.core.db import parse_id, utcnow
from campaigns.core.events import record_event
from campaigns.extensions import db
from campaigns.staff.models import StaffUser

# An urgent action may point at a campaign that is public and still takes part.
LINKABLE = (CampaignStatus.LIVE, CampaignStatus.PAUSED)


def campaign_choices() -> list[tuple[str, str]]:
    campaigns = db.session.scalars(
        select(Campaign).where(Campaign.status.in_(LINKABLE)).order_by(Campaign.id.desc())
    )
    return [(str(c.id), staff_title(c)) for c in campaigns]


def sent_already(once: str) -> bool:
    """Whether the form with this token was sent (committed); an empty token never was."""
    return bool(once) and bool(
        db.session.scalar(select(exists().where(UrgentAction.form_token == once)))
    )


def publish(form: UrgentActionForm, staff: StaffUser, reach: Reach) -> UrgentAction:
    """Record the urgent action as sent, its event and its audit entry; the caller commits."""
    action = UrgentAction(
        link=form.link.data,
        deadline=form.deadline.data,
        campaign_id=parse_id(form.campaign_id.data),
        created_by_id=staff.id,
        sent_at=utcnow(),
        # Unique: a second transaction sending the same form fails here (IntegrityError).
        form_token=form.once.data or None,
    )
    for locale, (title, text) in form.written().items():
        action.translations.append(UrgentActionTranslation(locale=locale, title=title, text=text))
    db.session.add(action)
    db.session.flush()
    record_event("urgent_action.published", urgent_action_id=action.id)
    english = action.translation_for("en")
    audit(
        "alerts.urgent_action_sent",
        target=action,
        campaign_id=action.campaign_id,
        detail={
            "title": english.title if english else "",
            "languages": sorted(form.written()),
            "link": action.link,
            "networks": len(reach.networks),
        },
        actor=staff,
    )
    return action
