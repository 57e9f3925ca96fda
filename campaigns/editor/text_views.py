"""Staff pages of the campaign editor for its texts: the versions per language, writing one, and
the preview of the petition page as the public will see it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import refresh as refresh_babel
from markupsafe import Markup

from campaigns.campaign.models import (
    Campaign,
    CampaignStatus,
    CampaignTranslation,
    TranslationStatus,
)
from campaigns.campaign.services import language_label, translation_in
from campaigns.core.db import utcnow
from campaigns.editor import services
from campaigns.editor.common import (
    campaign_or_404,
    editor_helpers,
    editor_languages,
    is_letter,
    locale_or_404,
)
from campaigns.editor.forms import LETTER_FIELDS, TextForm, Written, require_letter_when_ready
from campaigns.editor.views import text_from
from campaigns.extensions import db
from campaigns.petitions.forms import SignatureForm
from campaigns.petitions.models import Petition
from campaigns.petitions.services import accepts_signatures
from campaigns.petitions.views import render_petition_page
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.models import Capability

bp = Blueprint("editor_texts", __name__, url_prefix="/staff/campaigns")
bp.context_processor(editor_helpers)
EDIT = Capability.EDIT_CAMPAIGNS


@bp.route("/<int:campaign_id>/translations")
@staff_required(EDIT)
def translations(campaign_id: int) -> ResponseReturnValue:
    campaign = campaign_or_404(campaign_id)
    return render_template(
        "editor/translations.html",
        campaign=campaign,
        languages=services.language_states(campaign, editor_languages()),
    )


@bp.route("/<int:campaign_id>/translations/<locale>", methods=["GET", "POST"])
@staff_required(EDIT)
def translation(campaign_id: int, locale: str) -> ResponseReturnValue:
    campaign = campaign_or_404(campaign_id)
    locale = locale_or_404(locale)
    existing = translation_in(campaign, locale)
    form = TextForm(obj=existing if request.method == "GET" else None)
    letter = is_letter(campaign)
    if letter:
        # Not a petition's text: the page that leads supporters to write (a new list: the
        # field's validators are shared by every form of the class).
        body = form.body_markdown
        body.label.text = _("Text of the campaign page (Markdown)")
        body.validators = [
            Written(_("Please write the text of the campaign page.")),
            *body.validators[1:],
        ]
    else:
        for name in LETTER_FIELDS:  # a petition has no letter
            del form[name]
    _written_in(form, locale)
    if request.method == "GET" and existing is not None:
        form.status.data = TranslationStatus(existing.status).value
    if form.is_submitted() and _translation_valid(form, campaign, locale):
        services.save_translation(campaign, locale, text_from(form, letter), current_staff())
        db.session.commit()
        flash(
            _("The %(language)s version is saved.", language=language_label(locale)),
            "success",
        )
        return redirect(url_for(".translations", campaign_id=campaign.id), 303)
    status = 422 if form.errors else 200
    return render_template(
        "editor/translation.html",
        form=form,
        campaign=campaign,
        locale=locale,
        existing=existing,
        original=translation_in(campaign, campaign.default_locale),
    ), status


def _written_in(form: TextForm, locale: str) -> None:
    """Mark the text inputs with their language (spelling checkers, screen readers)."""
    fields = (form.title, form.summary, form.target, form.body_markdown)
    for f in (*fields, form.letter_subject, form.letter_body):
        if f is not None:
            f.render_kw = {**(f.render_kw or {}), "lang": locale}


def _translation_valid(form: TextForm, campaign: Campaign, locale: str) -> bool:
    ok = form.validate()
    if is_letter(campaign) and not require_letter_when_ready(form):
        ok = False
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


# --- Preview -------------------------------------------------------------------------------------


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
def preview(campaign_id: int, locale: str) -> ResponseReturnValue:
    """The petition page as the public will see it in `locale`, for a draft too. Unlike the
    public page it shows a version still in draft, so it can be read before it is marked ready."""
    campaign = campaign_or_404(campaign_id)
    locale = locale_or_404(locale)
    translation = translation_in(campaign, locale) or translation_in(
        campaign, campaign.default_locale
    )
    if translation is None:
        abort(404)
    banner = Markup(  # noqa: S704 - a template rendered with autoescaping
        render_template(
            "editor/_preview_banner.html",
            campaign=campaign,
            locale=locale,
            translation=translation,
            languages=services.language_states(campaign, editor_languages()),
        )
    )
    title = _("Preview (not public)")
    if is_letter(campaign):
        return _letter_preview(campaign, locale, translation, banner, title)
    petition = campaign.petition
    with visitor_language(locale):
        return render_petition_page(
            petition,
            translation,
            SignatureForm(),
            template="editor/preview.html",
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


def _letter_preview(
    campaign: Campaign, locale: str, translation: CampaignTranslation, banner: Markup, title: str
) -> ResponseReturnValue:
    """A letter campaign's text and letter as a supporter will read them (its public page is
    the letter journey's; this shows what staff write here)."""
    with visitor_language(locale):
        return render_template(
            "editor/letter_preview.html",
            campaign=campaign,
            translation=translation,
            preview_banner=banner,
            preview_title=title,
        )
