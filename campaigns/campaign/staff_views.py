"""Staff pages for campaigns: the list, a new campaign, settings, translations, preview, and the
changes of status (launch, pause, resume, close, deliver) with their history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh as refresh_babel
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from campaigns.campaign import lifecycle, services
from campaigns.campaign.forms import DeliveryForm, NewCampaignForm, SettingsForm, TextForm
from campaigns.campaign.models import Campaign, CampaignStatus, TranslationStatus
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.petitions.forms import SignatureForm
from campaigns.petitions.models import Petition
from campaigns.petitions.services import accepts_signatures
from campaigns.petitions.views import render_petition_page
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.models import Capability
from campaigns.tallies.services import current_tally

bp = Blueprint("staff_campaigns", __name__, url_prefix="/staff/campaigns")
VIEW = Capability.VIEW_CAMPAIGNS
EDIT = Capability.EDIT_CAMPAIGNS

LANGUAGE_STATE_LABELS = {
    services.MISSING: _l("Missing"),
    TranslationStatus.DRAFT.value: _l("Draft"),
    TranslationStatus.READY.value: _l("Ready"),
}

# The buttons of the changes that need nothing but a press, with what each one does.
CHANGE_BUTTONS = {
    "launch": (
        _l("Launch"),
        _l("The page becomes public and takes signatures; member networks are alerted."),
    ),
    "pause": (_l("Pause signing"), _l("The page stays visible and says signing is paused.")),
    "resume": (_l("Resume signing"), _l("The page takes signatures again.")),
    "close": (
        _l("Close"),
        _l("Signing ends for good. The page stays up with the final count."),
    ),
}


@bp.context_processor
def editor_helpers() -> dict[str, object]:
    return {
        "status_label": lifecycle.status_label,
        "language_label": services.language_label,
        "language_state_label": lambda state: str(LANGUAGE_STATE_LABELS[state]),
        "staff_title": services.staff_title,
        "change_buttons": CHANGE_BUTTONS,
    }


def _campaign_or_404(campaign_id: int, for_update: bool = False) -> Campaign:
    # A change of status locks the row, so two people pressing "launch" at once launch it once.
    campaign = db.session.get(Campaign, campaign_id, with_for_update=for_update)
    if campaign is None or campaign.petition is None:
        abort(404)
    return campaign


def _languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def _locale_or_404(locale: str) -> str:
    if locale not in _languages():
        abort(404)
    return locale


def _public_url(campaign: Campaign) -> str:
    return url_for("petitions.petition", lang=campaign.default_locale, slug=campaign.slug)


# --- The list ---------------------------------------------------------------------------------


@bp.route("/")
@staff_required(VIEW)
def index():  # noqa: ANN201
    languages = _languages()
    rows = [
        {
            "campaign": campaign,
            "confirmed": current_tally(campaign.petition.id).total if campaign.petition else 0,
            "languages": services.language_states(campaign, languages),
        }
        for campaign in services.all_campaigns()
    ]
    me = current_staff()
    return render_template(
        "staff/campaigns/index.html",
        rows=rows,
        can_edit=me.can(EDIT),
        can_export=me.can(Capability.EXPORT),
    )


# --- A new campaign, its settings and texts ----------------------------------------------------


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
        default = services.translation_in(campaign, form.default_locale.data)
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
    return services.Settings(
        slug=form.slug.data if "slug" in form else campaign.slug,
        default_locale=form.default_locale.data,
        lead_network_id=form.lead_network_id.data,
        goal=form.goal.data,
        deadline=form.deadline.data,
        eci_progress=form.eci_progress.data,
    )


def _text_from(form: TextForm) -> services.Text:
    return services.Text(
        title=form.title.data,
        summary=form.summary.data,
        target=form.target.data or "",
        body_markdown=form.body_markdown.data,
        status=TranslationStatus(form.status.data),
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(EDIT)
def new():  # noqa: ANN201
    form = NewCampaignForm()
    _fill_network_choices(form)
    if form.is_submitted() and _settings_valid(form, None):
        try:
            campaign = services.create_campaign(
                _settings_from(form), _text_from(form), current_staff()
            )
            db.session.commit()
        except IntegrityError:
            _slug_taken_meanwhile(form)
        else:
            flash(_("The campaign is saved as a draft."), "success")
            return redirect(url_for(".show", campaign_id=campaign.id), 303)
    status = 422 if form.errors else 200
    return render_template("staff/campaigns/new.html", form=form), status


@bp.route("/<int:campaign_id>/")
@staff_required(EDIT)
def show(campaign_id: int):  # noqa: ANN201
    return _show_page(_campaign_or_404(campaign_id), DeliveryForm())


def _show_page(campaign: Campaign, delivery_form: DeliveryForm, status: int = 200):  # noqa: ANN202
    return (
        render_template(
            "staff/campaigns/show.html",
            campaign=campaign,
            petition=campaign.petition,
            confirmed=current_tally(campaign.petition.id).total,
            languages=services.language_states(campaign, _languages()),
            changes=lifecycle.available_changes(campaign),
            launch_problems=lifecycle.launch_problems(campaign),
            history=list(reversed(campaign.state_changes)),
            delivery_form=delivery_form,
            public_url=_public_url(campaign),
        ),
        status,
    )


@bp.route("/<int:campaign_id>/settings", methods=["GET", "POST"])
@staff_required(EDIT)
def settings(campaign_id: int):  # noqa: ANN201
    campaign = _campaign_or_404(campaign_id)
    petition = campaign.petition
    form = SettingsForm()
    if request.method == "GET":
        form.slug.data = campaign.slug
        form.default_locale.data = campaign.default_locale
        form.lead_network_id.data = campaign.lead_network_id
        form.goal.data = petition.goal
        form.deadline.data = petition.deadline
        form.eci_progress.data = petition.eci_progress
    if campaign.status != CampaignStatus.DRAFT:
        del form.slug  # public links use it
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
    return render_template("staff/campaigns/settings.html", form=form, campaign=campaign), status


@bp.route("/<int:campaign_id>/translations")
@staff_required(EDIT)
def translations(campaign_id: int):  # noqa: ANN201
    campaign = _campaign_or_404(campaign_id)
    return render_template(
        "staff/campaigns/translations.html",
        campaign=campaign,
        languages=services.language_states(campaign, _languages()),
    )


@bp.route("/<int:campaign_id>/translations/<locale>", methods=["GET", "POST"])
@staff_required(EDIT)
def translation(campaign_id: int, locale: str):  # noqa: ANN201
    campaign = _campaign_or_404(campaign_id)
    locale = _locale_or_404(locale)
    existing = services.translation_in(campaign, locale)
    form = TextForm(obj=existing if request.method == "GET" else None)
    _written_in(form, locale)
    if request.method == "GET" and existing is not None:
        form.status.data = TranslationStatus(existing.status).value
    if form.is_submitted() and _translation_valid(form, campaign, locale):
        services.save_translation(campaign, locale, _text_from(form), current_staff())
        db.session.commit()
        flash(
            _("The %(language)s version is saved.", language=services.language_label(locale)),
            "success",
        )
        return redirect(url_for(".translations", campaign_id=campaign.id), 303)
    status = 422 if form.errors else 200
    return render_template(
        "staff/campaigns/translation.html",
        form=form,
        campaign=campaign,
        locale=locale,
        existing=existing,
        original=services.translation_in(campaign, campaign.default_locale),
    ), status


def _written_in(form: TextForm, locale: str) -> None:
    """Mark the text inputs with their language (spelling checkers, screen readers)."""
    for f in (form.title, form.summary, form.target, form.body_markdown):
        f.render_kw = {**(f.render_kw or {}), "lang": locale}


def _translation_valid(form: TextForm, campaign: Campaign, locale: str) -> bool:
    ok = form.validate()
    is_default = locale == campaign.default_locale
    if (
        is_default
        and campaign.status != CampaignStatus.DRAFT
        and form.status.data != TranslationStatus.READY.value
    ):
        # Visitors of every language without its own version fall back to this one.
        form.status.errors.append(
            _("The default language's version of a public campaign must stay ready.")
        )
        return False
    return ok


# --- Preview ------------------------------------------------------------------------------------


@contextmanager
def visitor_language(locale: str) -> Iterator[None]:
    """Render as a visitor reading `locale` sees it (texts and links), without touching the staff
    member's own language choice (it lives in a cookie the public pages set from g.lang)."""
    g.lang = locale
    refresh_babel()
    try:
        yield
    finally:
        g.pop("lang", None)
        refresh_babel()


@bp.route("/<int:campaign_id>/preview/<locale>")
@staff_required(EDIT)
def preview(campaign_id: int, locale: str):  # noqa: ANN201
    """The petition page as the public will see it in `locale`, for a draft too. Unlike the
    public page it shows a version still in draft, so it can be read before it is marked ready."""
    campaign = _campaign_or_404(campaign_id)
    locale = _locale_or_404(locale)
    translation = services.translation_in(campaign, locale) or services.translation_in(
        campaign, campaign.default_locale
    )
    if translation is None:
        abort(404)
    banner = Markup(  # noqa: S704 - a template rendered with autoescaping
        render_template(
            "staff/campaigns/_preview_banner.html",
            campaign=campaign,
            locale=locale,
            translation=translation,
            languages=services.language_states(campaign, _languages()),
        )
    )
    title = _("Preview (not public)")
    petition = campaign.petition
    with visitor_language(locale):
        return render_petition_page(
            petition,
            translation,
            SignatureForm(),
            template="staff/campaigns/preview.html",
            # A draft is shown as it will look once launched: open for signing.
            open_for_signing=_open_once_launched(petition)
            if campaign.status == CampaignStatus.DRAFT
            else accepts_signatures(petition),
            preview_banner=banner,
            preview_title=title,
            preview=True,
        )


def _open_once_launched(petition: Petition) -> bool:
    return petition.deadline is None or utcnow().date() <= petition.deadline


# --- Changes of status ----------------------------------------------------------------------------


def _change_status(campaign_id: int, change: Callable[..., None], *args: object) -> object:
    campaign = _campaign_or_404(campaign_id, for_update=True)
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
    return redirect(url_for(".show", campaign_id=campaign_id), 303)


@bp.route("/<int:campaign_id>/launch", methods=["POST"])
@staff_required(EDIT)
def launch(campaign_id: int):  # noqa: ANN201
    return _change_status(campaign_id, lifecycle.launch)


@bp.route("/<int:campaign_id>/pause", methods=["POST"])
@staff_required(EDIT)
def pause(campaign_id: int):  # noqa: ANN201
    return _change_status(campaign_id, lifecycle.pause)


@bp.route("/<int:campaign_id>/resume", methods=["POST"])
@staff_required(EDIT)
def resume(campaign_id: int):  # noqa: ANN201
    return _change_status(campaign_id, lifecycle.resume)


@bp.route("/<int:campaign_id>/close", methods=["POST"])
@staff_required(EDIT)
def close(campaign_id: int):  # noqa: ANN201
    return _change_status(campaign_id, lifecycle.close)


@bp.route("/<int:campaign_id>/deliver", methods=["POST"])
@staff_required(EDIT)
def deliver(campaign_id: int):  # noqa: ANN201
    form = DeliveryForm()
    campaign = _campaign_or_404(campaign_id)
    if campaign.status == CampaignStatus.CLOSED and not form.validate():
        # The note stays as typed, with the problem next to it.
        return _show_page(campaign, form, status=422)
    # Any other status: lifecycle.deliver refuses, saying why.
    return _change_status(campaign_id, lifecycle.deliver, form.note.data or "")
