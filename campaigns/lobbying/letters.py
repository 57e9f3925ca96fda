"""What a target receives: the action's letter in the target's language where a version exists,
the supporter's own words within the action's limits, and their name and country as signature."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _

from campaigns.campaign.models import Campaign, CampaignTranslation, TranslationStatus
from campaigns.core.i18n import country_name
from campaigns.lobbying.models import Letter, LetterAction, Target


@dataclass(frozen=True)
class LetterText:
    locale: str
    subject: str
    body: str  # plain text: greeting, letter, the supporter's paragraph, signature


def letter_version(
    campaign: Campaign, languages: list[str], supporter_locale: str
) -> CampaignTranslation:
    """The ready version in the first of `languages` (the target's) that has one, else the
    campaign's default language, else the supporter's."""
    ready = {
        t.locale: t
        for t in campaign.translations
        if t.status == TranslationStatus.READY and t.letter_subject and t.letter_body
    }
    # Not the supporter's next: one policymaker should not get the same letter in a different
    # language from each writer. The campaign's own language is the one every version comes from.
    for locale in (*languages, campaign.default_locale, supporter_locale):
        if locale in ready:
            return ready[locale]
    return campaign.translation_for(supporter_locale)


def compose(action: LetterAction, letter: Letter, target: Target) -> LetterText:
    """The letter `target` receives from the writer of `letter`."""
    campaign = action.campaign
    # What the supporter wrote and confirmed goes out, even if staff changed the policy since.
    rewritten = bool(letter.body)
    # A supporter's own words are in their language; the action's in the target's where it can.
    version = (
        campaign.translation_for(letter.locale)
        if rewritten
        else letter_version(campaign, target.language_list, letter.locale)
    )
    locale = letter.locale if rewritten else version.locale
    subject = (letter.subject if rewritten and letter.subject else None) or version.letter_subject
    text = letter.body if rewritten else version.letter_body
    with force_locale(locale):
        parts = [_("Dear %(name)s,", name=target.name), text.strip()]
        if letter.note:
            parts.append(_("In my own words:") + "\n" + letter.note.strip())
        parts.append(
            _("Yours sincerely,")
            + f"\n{letter.name}\n{country_name(letter.country, locale)}\n{letter.email}"
        )
    return LetterText(locale=locale, subject=subject, body="\n\n".join(parts))
