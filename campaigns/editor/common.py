"""What every page of the campaign editor shares: finding the campaign, the languages, and the
helpers its templates use."""

from __future__ import annotations

from flask import abort, current_app, url_for
from flask_babel import lazy_gettext as _l

from campaigns.campaign import lifecycle
from campaigns.campaign.models import Campaign, TranslationStatus
from campaigns.campaign.services import language_label, staff_title
from campaigns.editor.services import MISSING
from campaigns.extensions import db

LANGUAGE_STATE_LABELS = {
    MISSING: _l("Missing"),
    TranslationStatus.DRAFT.value: _l("Draft"),
    TranslationStatus.READY.value: _l("Ready"),
}

# The buttons of the changes that need nothing but a press, with what each one does.
CHANGE_BUTTONS = {
    "launch": (
        _l("Launch"),
        _l("The page becomes public and takes signatures."),
    ),
    "pause": (_l("Pause signing"), _l("The page stays visible and says signing is paused.")),
    "resume": (_l("Resume signing"), _l("The page takes signatures again.")),
    "close": (
        _l("Close"),
        _l("Signing ends for good. The page stays up with the final count."),
    ),
}


def editor_helpers() -> dict[str, object]:
    return {
        "status_label": lifecycle.status_label,
        "language_label": language_label,
        "language_state_label": lambda state: str(LANGUAGE_STATE_LABELS[state]),
        "staff_title": staff_title,
        "change_buttons": CHANGE_BUTTONS,
    }


def campaign_or_404(campaign_id: int, for_update: bool = False) -> Campaign:
    # A change of status locks the row, so two people pressing "launch" at once launch it once.
    campaign = db.session.get(Campaign, campaign_id, with_for_update=for_update)
    if campaign is None or campaign.petition is None:
        abort(404)
    return campaign


def editor_languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def locale_or_404(locale: str) -> str:
    if locale not in editor_languages():
        abort(404)
    return locale


def public_url(campaign: Campaign) -> str:
    return url_for("petitions.petition", lang=campaign.default_locale, slug=campaign.slug)
