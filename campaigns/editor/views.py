"""Staff pages of the campaign editor: the list of campaigns, a new campaign, a campaign's page
and its settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from campaigns.campaign import lifecycle
from campaigns.campaign.models import Campaign, CampaignKind, CampaignStatus, TranslationStatus
from campaigns.campaign.services import staff_title, translation_in
from campaigns.editor import services
from campaigns.editor.common import (
    LETTER_CHANGE_BUTTONS,
    campaign_or_404,
    editor_helpers,
    editor_languages,
    is_letter,
    public_url,
)
from campaigns.editor.forms import (
    PETITION_ONLY_FIELDS,
    DeliveryForm,
    NewCampaignForm,
    SettingsForm,
    TextForm,
)
from campaigns.extensions import db
from campaigns.lobbying import action_services as letters
from campaigns.petitions.tallies.services import current_tally
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.listing import Column, Listing
from campaigns.staff.models import Capability

bp = Blueprint("editor", __name__, url_prefix="/staff/campaigns")
bp.context_processor(editor_helpers)
VIEW = Capability.VIEW_CAMPAIGNS
EDIT = Capability.EDIT_CAMPAIGNS


@bp.route("/")
@staff_required(VIEW)
def index() -> ResponseReturnValue:
    codes = editor_languages()
    campaigns = services.all_campaigns()
    letter_counts = letters.confirmed_letters(
        [c.letter_action.id for c in campaigns if c.letter_action is not None]
    )
    rows = [
        {
            "campaign": campaign,
            "title": staff_title(campaign),
            "confirmed": _confirmed(campaign, letter_counts),
            "languages": services.language_states(campaign, codes),
        }
        for campaign in campaigns
    ]
    statuses = list(CampaignStatus)
    listing = Listing(
        {
            "title": Column(lambda row: row["title"]),
            "status": Column(lambda row: statuses.index(CampaignStatus(row["campaign"].status))),
            "network": Column(
                lambda row: (
                    row["campaign"].lead_network.name if row["campaign"].lead_network else None
                )
            ),
            "confirmed": Column(lambda row: row["confirmed"], descending_first=True),
        },
        text=lambda row: (
            row["title"],
            row["campaign"].slug,
            row["campaign"].lead_network.name if row["campaign"].lead_network else None,
            lifecycle.status_label(row["campaign"].status),
        ),
    )
    me = current_staff()
    return render_template(
        "editor/index.html",
        rows=listing.apply(rows),
        listing=listing,
        can_edit=me.can(EDIT),
        can_export=me.can(Capability.EXPORT),
    )


def _confirmed(campaign: Campaign, letter_counts: dict[int, int]) -> int:
    """Confirmed signatures of a petition, confirmed letters of a letter campaign."""
    if is_letter(campaign):
        action = campaign.letter_action
        return letter_counts.get(action.id, 0) if action is not None else 0
    return current_tally(campaign.petition.id).total if campaign.petition else 0


# --- A new campaign and its settings ----------------------------------------------------------


def _settings_valid(form: SettingsForm, campaign: Campaign | None) -> bool:
    """The form's own checks, then those that need the database: every problem shows at once,
    next to its field."""
    ok = form.validate()
    checks_slug = "slug" in form and form.slug.data and not form.slug.errors
    if checks_slug and services.slug_taken(form.slug.data, campaign.id if campaign else None):
        form.slug.errors.append(_("Another campaign already uses this address."))
        ok = False
    if not form.lead_network_id.errors and not services.network_exists(form.lead_network_id.data):
        form.lead_network_id.errors.append(_("This network does not exist."))
        ok = False
    if campaign is not None and campaign.status != CampaignStatus.DRAFT:
        # Visitors without a ready version of their language see the default one: it must exist.
        default = translation_in(campaign, form.default_locale.data)
        if default is None or default.status != TranslationStatus.READY:
            form.default_locale.errors.append(
                _("A public campaign's default language needs a ready version.")
            )
            ok = False
    return ok


def _slug_taken_meanwhile(form: SettingsForm) -> None:
    # The slug was free when checked, but another campaign took it before this one was saved
    # (the only unique column these forms write).
    db.session.rollback()
    form.slug.errors.append(_("Another campaign already uses this address."))


def _fill_network_choices(form: SettingsForm) -> None:
    form.lead_network_id.choices = [("", _("Choose a network"))] + [
        (network.id, network.name) for network in services.network_choices()
    ]


def _settings_from(form: SettingsForm, campaign: Campaign | None = None) -> services.Settings:
    if campaign is not None:
        kind = CampaignKind(campaign.kind)  # fixed since its creation
    else:
        kind = CampaignKind.LETTER if form.is_letter else CampaignKind.PETITION
    petition = {}
    if kind == CampaignKind.PETITION:
        petition = {name: form[name].data for name in PETITION_ONLY_FIELDS}
    return services.Settings(
        slug=form.slug.data if "slug" in form else campaign.slug,
        default_locale=form.default_locale.data,
        lead_network_id=form.lead_network_id.data,
        kind=kind,
        **petition,
    )


def text_from(form: TextForm, letter: bool) -> services.Text:
    """The version as typed; a petition's has no letter (whatever came in those fields)."""
    return services.Text(
        title=form.title.data,
        summary=form.summary.data,
        target=form.target.data or "",
        body_markdown=form.body_markdown.data,
        status=TranslationStatus(form.status.data),
        letter_subject=(form.letter_subject.data or "") if letter else "",
        letter_body=(form.letter_body.data or "") if letter else "",
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(EDIT)
def new() -> ResponseReturnValue:
    form = NewCampaignForm()
    _fill_network_choices(form)
    if form.is_submitted() and _settings_valid(form, None):
        try:
            campaign = services.create_campaign(
                _settings_from(form), text_from(form, form.is_letter), current_staff()
            )
            db.session.commit()
        except IntegrityError:
            _slug_taken_meanwhile(form)
        else:
            flash(_("The campaign is saved as a draft."), "success")
            return redirect(url_for(".show", campaign_id=campaign.id), 303)
    status = 422 if form.errors else 200
    return render_template("editor/new.html", form=form), status


@bp.route("/<int:campaign_id>/")
@staff_required(EDIT)
def show(campaign_id: int) -> ResponseReturnValue:
    return show_page(campaign_or_404(campaign_id), DeliveryForm())


def show_page(
    campaign: Campaign, delivery_form: DeliveryForm, status: int = 200
) -> ResponseReturnValue:
    changes = lifecycle.available_changes(campaign)
    if is_letter(campaign):
        action = campaign.letter_action
        context = {
            "action": action,
            "mode": letters.mode_of(action),
            "confirmed": letters.confirmed_letters([action.id])[action.id],
            "change_buttons": LETTER_CHANGE_BUTTONS,
            "launch_warnings": letters.launch_warnings(action) if "launch" in changes else [],
        }
    else:
        context = {
            "petition": campaign.petition,
            "confirmed": current_tally(campaign.petition.id).total,
        }
    return (
        render_template(
            "editor/show.html",
            campaign=campaign,
            languages=services.language_states(campaign, editor_languages()),
            changes=changes,
            launch_problems=lifecycle.launch_problems(campaign),
            history=list(reversed(campaign.state_changes)),
            delivery_form=delivery_form,
            public_url=public_url(campaign),
            **context,
        ),
        status,
    )


@bp.route("/<int:campaign_id>/settings", methods=["GET", "POST"])
@staff_required(EDIT)
def settings(campaign_id: int) -> ResponseReturnValue:
    campaign = campaign_or_404(campaign_id)
    petition = campaign.petition
    form = SettingsForm()
    if request.method == "GET":
        form.slug.data = campaign.slug
        form.default_locale.data = campaign.default_locale
        form.lead_network_id.data = campaign.lead_network_id
        if petition is not None:
            form.goal.data = petition.goal
            form.deadline.data = petition.deadline
            form.eci_progress.data = petition.eci_progress
    if campaign.status != CampaignStatus.DRAFT:
        del form.slug  # public links use it
    if is_letter(campaign):
        for name in PETITION_ONLY_FIELDS:  # a letter has no goal, deadline or ECI progress
            del form[name]
    else:
        form.saved_deadline = petition.deadline
    _fill_network_choices(form)
    if form.is_submitted() and _settings_valid(form, campaign):
        staff = current_staff()
        try:
            changed = services.update_settings(campaign, _settings_from(form, campaign), staff)
            db.session.commit()
        except IntegrityError:
            _slug_taken_meanwhile(form)
        else:
            flash(_("Settings saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for(".show", campaign_id=campaign.id), 303)
    status = 422 if form.errors else 200
    return render_template("editor/settings.html", form=form, campaign=campaign), status
