"""Staff pages of a letter action's delivery: per-target and per-country statistics, and the
targets' answers as staff log them."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.routing import BuildError

from campaigns.campaign.models import PUBLIC_STATUSES, Campaign, CampaignKind
from campaigns.campaign.services import staff_title
from campaigns.core.db import parse_id, utcnow
from campaigns.extensions import db
from campaigns.lobbying import report
from campaigns.lobbying.mode import letters_go_live
from campaigns.lobbying.models import LetterAction, Position, Target
from campaigns.lobbying.report_forms import ResponseForm
from campaigns.lobbying.scorecard import latest_responses
from campaigns.lobbying.scorecard_views import position_label
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.models import Capability, StaffUser

bp = Blueprint(
    "letter_report", __name__, url_prefix="/staff/campaigns/<int:campaign_id>/letter/report"
)
VIEW = Capability.VIEW_TARGETS
EDIT = Capability.EDIT_TARGETS


def _action_or_404(campaign_id: int) -> tuple[Campaign, LetterAction]:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.kind != CampaignKind.LETTER or campaign.letter_action is None:
        abort(404)
    return campaign, campaign.letter_action


def _optional_url(endpoint: str, **values: object) -> str | None:
    """A link to a page another part of the workspace provides, or None while it has none."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def target_link(target_id: int) -> str | None:
    """The target's page in the directory of targets."""
    return _optional_url("targets.show", target_id=target_id)


def _scorecard_link(campaign: Campaign) -> str | None:
    """The public scorecard, in the staff member's language when the campaign has it."""
    if campaign.status not in PUBLIC_STATUSES:
        return None
    lang = str(get_locale())
    if lang not in campaign.ready_locales or lang not in current_app.config["LANGUAGES"]:
        lang = campaign.default_locale
    return url_for("scorecard.show", slug=campaign.slug, lang=lang)


def _common(campaign: Campaign, action: LetterAction) -> dict[str, object]:
    """What both pages show: the title, the mode banner, the links between them."""
    return {
        "campaign": campaign,
        "action": action,
        "title": staff_title(campaign),
        "test_mode": not letters_go_live(action),
        "test_inbox": current_app.config["LOBBYING_TEST_INBOX"],
        "scorecard_url": _scorecard_link(campaign),
        "target_link": target_link,
        "position_label": position_label,
        "can_edit": current_staff().can(EDIT),
        "settings_url": _optional_url("letter_action.settings", campaign_id=campaign.id)
        if current_staff().can(Capability.EDIT_CAMPAIGNS)
        else None,
    }


@bp.route("/")
@staff_required(VIEW)
def show(campaign_id: int) -> ResponseReturnValue:
    campaign, action = _action_or_404(campaign_id)
    return render_template(
        "lobbying/report/show.html",
        report=report.build_report(action),
        **_common(campaign, action),
    )


# --- Answers ------------------------------------------------------------------------------------


def _zone(user: StaffUser) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Brussels")


def _target_label(target: Target) -> str:
    where = [target.political_group, target.country or "EU"]
    return f"{target.name} ({', '.join(w for w in where if w)})"


def _prepare(form: ResponseForm, campaign: Campaign, targets: list[Target]) -> None:
    form.target.choices = [("", _("Choose a policymaker"))] + [
        (str(t.id), _target_label(t)) for t in targets
    ]
    zone = _zone(current_staff())
    form.latest = utcnow().astimezone(zone).date()
    form.earliest = campaign.created_at.astimezone(zone).date() if campaign.created_at else None


def _responses_page(
    campaign: Campaign, action: LetterAction, form: ResponseForm, targets: list[Target], status: int
) -> tuple[str, int]:
    responses = latest_responses(action.id, [t.id for t in targets])
    logged = report.history(action.id)
    staff_ids = {r.recorded_by_id for r in logged if r.recorded_by_id}
    staff = (
        {u.id: u for u in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))}
        if staff_ids
        else {}
    )
    page = render_template(
        "lobbying/report/responses.html",
        form=form,
        targets=targets,
        responses=responses,
        logged=logged,
        staff=staff,
        today=form.latest,
        **_common(campaign, action),
    )
    return page, status


@bp.route("/responses")
@staff_required(VIEW)
def responses(campaign_id: int) -> ResponseReturnValue:
    campaign, action = _action_or_404(campaign_id)
    targets = report.targets_with_letters(action)
    form = ResponseForm(formdata=None)
    _prepare(form, campaign, targets)
    form.responded_on.data = form.latest
    return _responses_page(campaign, action, form, targets, 200)


@bp.route("/responses", methods=["POST"])
@staff_required(EDIT)
def log_response(campaign_id: int) -> ResponseReturnValue:
    campaign, action = _action_or_404(campaign_id)
    targets = report.targets_with_letters(action)
    form = ResponseForm()
    _prepare(form, campaign, targets)
    if not form.validate():
        return _responses_page(campaign, action, form, targets, 422)
    target = next(t for t in targets if t.id == parse_id(form.target.data))
    response = report.log_response(
        action,
        report.AnswerInput(
            target=target,
            responded_on=form.responded_on.data,
            position=Position(form.position.data),
            quote=form.quote.data or None,
            link=form.link.data or None,
        ),
        current_staff(),
    )
    shown = report.is_latest(response)
    db.session.commit()
    message = _("The answer of %(name)s is logged.", name=target.name)
    if not shown:
        message += " " + _(
            "An answer of a later date was logged before: that one still counts on the scorecard."
        )
    flash(message, "success")
    return redirect(url_for(".responses", campaign_id=campaign.id), 303)
