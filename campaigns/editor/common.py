"""What every page of the campaign editor shares: finding the campaign, the languages, and the
helpers its templates use."""

from __future__ import annotations

from flask import abort, current_app, url_for
from flask_babel import lazy_gettext as _l

from campaigns.campaign import lifecycle
from campaigns.campaign.models import Campaign, CampaignKind, TranslationStatus
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


# The same buttons for a letter campaign: supporters write letters instead of signing.
LETTER_CHANGE_BUTTONS = {
    "launch": (
        _l("Launch"),
        _l("The page becomes public and supporters can write their letters."),
    ),
    "pause": (_l("Pause writing"), _l("The page stays visible and says writing is paused.")),
    "resume": (_l("Resume writing"), _l("Supporters can write letters again.")),
    "close": (
        _l("Close"),
        _l("Writing ends for good. Letters already confirmed are still delivered."),
    ),
}

KIND_LABELS = {
    CampaignKind.PETITION: _l("Petition"),
    CampaignKind.LETTER: _l("Letter to policymakers"),
}


def is_letter(campaign: Campaign) -> bool:
    return campaign.kind == CampaignKind.LETTER


def kind_label(kind: CampaignKind | str) -> str:
    return str(KIND_LABELS[CampaignKind(kind)])


def editor_helpers() -> dict[str, object]:
    return {
        "is_letter": is_letter,
        "kind_label": kind_label,
        "status_label": lifecycle.status_label,
        "language_label": language_label,
        "language_state_label": lambda state: str(LANGUAGE_STATE_LABELS[state]),
        "staff_title": staff_title,
        "change_buttons": CHANGE_BUTTONS,
    }


def campaign_or_404(campaign_id: int, for_update: bool = False) -> Campaign:
    # A change of status locks the row, so two people pressing "launch" at once launch it once.
    campaign = db.session.get(Campaign, campaign_id, with_for_update=for_update)
    if campaign is None:
        abort(404)
    # A petition without its Petition row, or a letter without its action, cannot be edited.
    if (campaign.letter_action if is_letter(campaign) else campaign.petition) is None:
        abort(404)
    return campaign


def editor_languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def locale_or_404(locale: str) -> str:
    if locale not in editor_languages():
        abort(404)
    return locale


def public_url(campaign: Campaign) -> str:
    endpoint = "lobbying.write" if is_letter(campaign) else "petitions.petition"
    return url_for(endpoint, lang=campaign.default_locale, slug=campaign.slug)
