"""A campaign's life: draft, live, paused, closed, delivered.

One function per change. Each checks that the change is allowed from the current status (and
anything else it needs), then records who made it and when (a CampaignStateChange and an audit
entry) in the caller's transaction. A change that is not allowed raises `TransitionRefused` with a
message for the staff member; nothing is changed then.

    draft            → live       launch (the default language's version must be ready)
    live             → paused     pause (the page stays up; signing is paused)
    paused           → live       resume
    live or paused   → closed     close
    closed           → delivered  deliver (with a note: to whom, when, how)
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from campaigns.audit.services import record
from campaigns.campaign.models import (
    Campaign,
    CampaignStateChange,
    CampaignStatus,
    TranslationStatus,
)
from campaigns.campaign.services import language_label
from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.staff.models import StaffUser

STATUS_LABELS = {
    CampaignStatus.DRAFT: _l("Draft"),
    CampaignStatus.LIVE: _l("Live"),
    CampaignStatus.PAUSED: _l("Paused"),
    CampaignStatus.CLOSED: _l("Closed"),
    CampaignStatus.DELIVERED: _l("Delivered"),
}

# Each change: the statuses it starts from, and the status it leads to. Anything else is refused.
CHANGES: dict[str, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    "launch": (frozenset({CampaignStatus.DRAFT}), CampaignStatus.LIVE),
    "pause": (frozenset({CampaignStatus.LIVE}), CampaignStatus.PAUSED),
    "resume": (frozenset({CampaignStatus.PAUSED}), CampaignStatus.LIVE),
    "close": (frozenset({CampaignStatus.LIVE, CampaignStatus.PAUSED}), CampaignStatus.CLOSED),
    "deliver": (frozenset({CampaignStatus.CLOSED}), CampaignStatus.DELIVERED),
}


class TransitionRefused(Exception):
    """A change of status that is not possible now; `message` says why, for the staff member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def status_label(status: CampaignStatus | str) -> str:
    return str(STATUS_LABELS[CampaignStatus(status)])


def available_changes(campaign: Campaign) -> list[str]:
    """The changes possible from the campaign's current status ("launch", "pause"...)."""
    return [name for name, (starts, _to) in CHANGES.items() if campaign.status in starts]


def launch_problems(campaign: Campaign) -> list[str]:
    """What stands in the way of launching, besides the status (empty: ready to launch)."""
    problems = []
    default = next((t for t in campaign.translations if t.locale == campaign.default_locale), None)
    if default is None or default.status != TranslationStatus.READY:
        problems.append(
            _(
                "The %(language)s version (the default language) must be marked ready.",
                language=language_label(campaign.default_locale),
            )
        )
    petition = campaign.petition
    if petition is None:
        problems.append(_("The campaign has no petition."))
    elif petition.deadline is not None and petition.deadline < utcnow().date():
        problems.append(_("The deadline has passed: change it in the settings first."))
    return problems


def launch(campaign: Campaign, staff: StaffUser) -> None:
    """Make the page public and open for signing; member networks are told (event)."""
    _refuse_unless_from(campaign, "launch", _("Only a draft campaign can be launched."))
    problems = launch_problems(campaign)
    if problems:
        raise TransitionRefused(" ".join([_("The campaign cannot be launched yet."), *problems]))
    campaign.launched_at = utcnow()
    _change(campaign, "launch", staff)
    record_event("campaign.launched", campaign_id=campaign.id, staff_user_id=staff.id)


def pause(campaign: Campaign, staff: StaffUser) -> None:
    """The page stays visible but takes no signatures, and says so."""
    _refuse_unless_from(campaign, "pause", _("Only a live campaign can be paused."))
    _change(campaign, "pause", staff)


def resume(campaign: Campaign, staff: StaffUser) -> None:
    _refuse_unless_from(campaign, "resume", _("Only a paused campaign can be resumed."))
    _change(campaign, "resume", staff)


def close(campaign: Campaign, staff: StaffUser) -> None:
    """Signing ends for good; the page stays up with the final count."""
    _refuse_unless_from(campaign, "close", _("Only a live or paused campaign can be closed."))
    _change(campaign, "close", staff)


def deliver(campaign: Campaign, staff: StaffUser, note: str) -> None:
    """The petition was handed over; `note` says to whom, when and how."""
    _refuse_unless_from(
        campaign,
        "deliver",
        _("Only a closed campaign can be marked delivered: close it first."),
    )
    note = (note or "").strip()
    if not note:
        raise TransitionRefused(_("Please say to whom, when and how the petition was delivered."))
    campaign.delivery_note = note
    _change(campaign, "deliver", staff, note=note)


def _refuse_unless_from(campaign: Campaign, change: str, message: str) -> None:
    starts, _to = CHANGES[change]
    if campaign.status not in starts:
        now = _("Its status now: %(status)s.", status=status_label(campaign.status))
        raise TransitionRefused(f"{message} {now}")


def _change(campaign: Campaign, change: str, staff: StaffUser, note: str | None = None) -> None:
    from_status = campaign.status
    _starts, to = CHANGES[change]
    campaign.status = to
    campaign.state_changes.append(
        CampaignStateChange(
            from_status=from_status.value,
            to_status=to.value,
            changed_by_id=staff.id,
            changed_at=utcnow(),
            note=note,
        )
    )
    record(
        "campaign.state_changed",
        target=campaign,
        campaign_id=campaign.id,
        detail={"change": change, "from": from_status.value, "to": to.value},
        actor=staff,
    )
