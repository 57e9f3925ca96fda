"""A campaign's life: draft, live, paused, closed, delivered.

One function per change. Each checks that the change is allowed from the current status (and
anything else it needs), then records who made it and when (a CampaignStateChange and an audit
entry) in the caller's transaction. A change that is not allowed raises `TransitionRefused` with a
message for the staff member; nothing is changed then.

    draft            → live       launch (the default language's version must be ready; a
                                  letter's must have its letter, and its action find someone)
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
    CampaignKind,
    CampaignStateChange,
    CampaignStatus,
    CampaignTranslation,
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
    if campaign.kind == CampaignKind.LETTER:
        return problems + _letter_problems(campaign, default)
    petition = campaign.petition
    if petition is None:
        problems.append(_("The campaign has no petition."))
    elif petition.deadline is not None and petition.deadline < utcnow().date():
        problems.append(_("The deadline has passed: change it in the settings first."))
    return problems


def _letter_problems(campaign: Campaign, default: CampaignTranslation | None) -> list[str]:
    """A letter campaign also needs its letter in the default language, and an action whose rule
    can find someone to write to. (The action is read through the campaign's relationship: this
    package sits below campaigns.lobbying and does not import it; rules compare as strings.)"""
    problems = []
    if default is None or not (default.letter_subject.strip() and default.letter_body.strip()):
        problems.append(
            _(
                "The %(language)s version (the default language) needs the letter's subject "
                "and body.",
                language=language_label(campaign.default_locale),
            )
        )
    action = campaign.letter_action
    if action is None:
        return [*problems, _("The campaign has no letter action.")]

    def receiving(purpose: str) -> bool:
        return any(c.purpose == purpose and c.target.receives_letters for c in action.chosen)

    if action.rule == "named" and not receiving("named") and not receiving("fallback"):
        problems.append(
            _(
                "Nobody would receive the letters: the named list and the fallback list have "
                "nobody who can receive them. Choose policymakers in the letter settings."
            )
        )
    elif action.rule == "committees" and not action.committees.split():
        problems.append(
            _(
                "The letters go to members of chosen committees, but no committee is chosen: "
                "choose one in the letter settings."
            )
        )
    elif action.rule == "group" and not action.political_group:
        problems.append(
            _(
                "The letters go to the MEPs of a political group, but no group is chosen: "
                "choose one in the letter settings."
            )
        )
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
