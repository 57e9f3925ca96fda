"""Staff actions of the campaign editor that change a campaign's status: launch, pause, resume,
close and deliver (see campaigns.campaign.lifecycle). Launching and closing ask first, saying
what will happen (see campaigns.staff.confirmation)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from campaigns.alerts.audience import reach as alert_reach
from campaigns.alerts.models import Topic
from campaigns.campaign import lifecycle
from campaigns.campaign.models import Campaign, CampaignStatus, TranslationStatus
from campaigns.campaign.services import language_label, staff_title
from campaigns.editor.common import campaign_or_404, editor_helpers, editor_languages, is_letter
from campaigns.editor.forms import DeliveryForm
from campaigns.editor.services import language_states
from campaigns.editor.views import show_page
from campaigns.extensions import db
from campaigns.lobbying import action_services as letters
from campaigns.petitions.tallies.services import current_tally
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.confirmation import Question, ask, confirmed
from campaigns.staff.models import Capability

bp = Blueprint("editor_status", __name__, url_prefix="/staff/campaigns")
bp.context_processor(editor_helpers)
EDIT = Capability.EDIT_CAMPAIGNS


def _change_status(campaign_id: int, change: Callable[..., None], *args: object) -> object:
    campaign = campaign_or_404(campaign_id, for_update=True)
    try:
        change(campaign, current_staff(), *args)
    except lifecycle.TransitionRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(
            _("The campaign is now: %(status)s.", status=lifecycle.status_label(campaign.status)),
            "success",
        )
    return redirect(url_for("editor.show", campaign_id=campaign_id), 303)


@bp.route("/<int:campaign_id>/launch", methods=["POST"])
@staff_required(EDIT)
def launch(campaign_id: int) -> ResponseReturnValue:
    campaign = campaign_or_404(campaign_id)
    if not confirmed() and not lifecycle.launch_problems(campaign):
        return ask(_launch_question(campaign))
    return _change_status(campaign_id, lifecycle.launch)


def _launch_question(campaign: Campaign) -> Question:
    if is_letter(campaign):
        consequences = _letter_launch_consequences(campaign)
    else:
        consequences = [_("The petition page becomes public and takes signatures.")]
    falling_back = [
        language_label(code)
        for code, state in language_states(campaign, editor_languages()).items()
        if state != TranslationStatus.READY.value
    ]
    if falling_back:
        consequences.append(
            _(
                "Visitors reading %(languages)s see the %(default)s version: theirs is not ready.",
                languages=", ".join(falling_back),
                default=language_label(campaign.default_locale),
            )
        )
    consequences.append(_networks_alerted())
    return Question(
        title=_("Launch “%(title)s”?", title=staff_title(campaign)),
        consequences=consequences,
        button=_("Yes, launch it"),
        back_url=url_for("editor.show", campaign_id=campaign.id),
    )


def _networks_alerted() -> str:
    """How many member networks the launch alerts: those subscribed to launches whose chosen
    channel reaches someone (a contact for email, an active endpoint for webhooks)."""
    found = alert_reach(Topic.CAMPAIGN_LAUNCHED)
    if not found.networks:
        return _("No member network is subscribed to launch alerts: none will be alerted.")
    return ngettext(
        "%(count)s member network subscribed to launches will be alerted by email or webhook.",
        "%(count)s member networks subscribed to launches will be alerted by email or webhook.",
        len(found.networks),
        count=format_decimal(len(found.networks)),
    )


def _letter_launch_consequences(campaign: Campaign) -> list[str]:
    action = campaign.letter_action
    mode = letters.mode_of(action)
    rows = letters.preview(action)
    reachable = letters.reachable(rows)
    consequences = [
        _("The letter page becomes public: supporters can write to policymakers."),
        ngettext(
            "%(count)s policymaker can receive the letters.",
            "%(count)s policymakers can receive the letters.",
            reachable,
            count=format_decimal(reachable),
        ),
    ]
    if mode.live:
        consequences.append(_("Letters go to the policymakers themselves."))
    else:
        consequences.append(
            _(
                "Test mode: letters go to %(inbox)s, not to the policymakers.",
                inbox=mode.test_inbox,
            )
        )
    consequences += letters.launch_warnings(action)
    return consequences


@bp.route("/<int:campaign_id>/pause", methods=["POST"])
@staff_required(EDIT)
def pause(campaign_id: int) -> ResponseReturnValue:
    return _change_status(campaign_id, lifecycle.pause)


@bp.route("/<int:campaign_id>/resume", methods=["POST"])
@staff_required(EDIT)
def resume(campaign_id: int) -> ResponseReturnValue:
    return _change_status(campaign_id, lifecycle.resume)


@bp.route("/<int:campaign_id>/close", methods=["POST"])
@staff_required(EDIT)
def close(campaign_id: int) -> ResponseReturnValue:
    campaign = campaign_or_404(campaign_id)
    if not confirmed() and campaign.status in lifecycle.CHANGES["close"][0]:
        if is_letter(campaign):
            return ask(_letter_close_question(campaign))
        total = current_tally(campaign.petition.id).total
        return ask(
            Question(
                title=_("Close “%(title)s” for good?", title=staff_title(campaign)),
                consequences=[
                    _("Signing ends for good: the petition cannot be opened again."),
                    ngettext(
                        "The page stays up with its final count: %(count)s confirmed signature.",
                        "The page stays up with its final count: %(count)s confirmed signatures.",
                        total,
                        count=format_decimal(total),
                    ),
                ],
                button=_("Yes, close it"),
                back_url=url_for("editor.show", campaign_id=campaign.id),
                danger=True,
            )
        )
    return _change_status(campaign_id, lifecycle.close)


def _letter_close_question(campaign: Campaign) -> Question:
    action = campaign.letter_action
    total = letters.confirmed_letters([action.id])[action.id]
    letters_waiting, _messages = letters.waiting(action)
    return Question(
        title=_("Close “%(title)s” for good?", title=staff_title(campaign)),
        consequences=[
            _("Writing ends for good: the letter action cannot be opened again."),
            ngettext(
                "%(count)s letter was confirmed.",
                "%(count)s letters were confirmed.",
                total,
                count=format_decimal(total),
            ),
            ngettext(
                "%(count)s letter is still waiting to be sent.",
                "%(count)s letters are still waiting to be sent.",
                letters_waiting,
                count=format_decimal(letters_waiting),
            ),
        ],
        button=_("Yes, close it"),
        back_url=url_for("editor.show", campaign_id=campaign.id),
        danger=True,
    )


@bp.route("/<int:campaign_id>/deliver", methods=["POST"])
@staff_required(EDIT)
def deliver(campaign_id: int) -> ResponseReturnValue:
    form = DeliveryForm()
    campaign = campaign_or_404(campaign_id)
    if campaign.status == CampaignStatus.CLOSED and not form.validate():
        # The note stays as typed, with the problem next to it.
        return show_page(campaign, form, status=422)
    # Any other status: lifecycle.deliver refuses, saying why.
    return _change_status(campaign_id, lifecycle.deliver, form.note.data or "")
