"""Staff actions of the campaign editor that change a campaign's status: launch, pause, resume,
close and deliver (see campaigns.campaign.lifecycle)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from campaigns.campaign import lifecycle
from campaigns.campaign.models import CampaignStatus
from campaigns.editor.common import campaign_or_404, editor_helpers
from campaigns.editor.forms import DeliveryForm
from campaigns.editor.views import show_page
from campaigns.extensions import db
from campaigns.staff.auth import current_staff, staff_required
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
    return _change_status(campaign_id, lifecycle.launch)


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
    return _change_status(campaign_id, lifecycle.close)


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
