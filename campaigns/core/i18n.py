"""Languages: the locale comes from the URL, then the saved choice, then Accept-Language."""

from __future__ import annotations

import functools
import unicodedata

from babel import Locale
from flask import current_app, g, has_request_context, request
from flask_babel import force_locale, get_locale, gettext

LANGUAGE_COOKIE = "lang"

# The countries a signer can choose: the EU member states and Norway, plus "elsewhere".
EU_MEMBER_STATES = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]
SIGNER_COUNTRIES = (*EU_MEMBER_STATES, "NO")
OTHER_COUNTRY = "ZZ"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    lang = getattr(g, "lang", None)
    if lang in languages:
        return lang
    if not has_request_context():  # the command line, a worker outside force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    saved = request.cookies.get(LANGUAGE_COOKIE)
    if saved in languages:
        return saved
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def language_name(code: str) -> str:
    """A language's name in that language ("Deutsch"), as a switcher shows it."""
    return Locale.parse(code).get_display_name(code).capitalize()


def country_name(code: str, locale: str | None = None) -> str:
    locale = locale or str(get_locale())
    if code == OTHER_COUNTRY:
        with force_locale(locale):
            return gettext("Another country")
    return Locale.parse(locale).territories.get(code, code)


def country_choices() -> list[tuple[str, str]]:
    """Countries sorted by their name in the page's language, "another country" last."""
    return list(_country_choices(str(get_locale())))


@functools.cache
def _country_choices(locale: str) -> tuple[tuple[str, str], ...]:
    # Built once per language: sorting localised names costs more than the rest of a form.
    choices = sorted(((cc, country_name(cc, locale)) for cc in SIGNER_COUNTRIES), key=_sort_key)
    return (*choices, (OTHER_COUNTRY, country_name(OTHER_COUNTRY, locale)))


def _sort_key(choice: tuple[str, str]) -> str:
    # "Österreich" sorts with the Os, not after "Zypern".
    return unicodedata.normalize("NFKD", choice[1]).encode("ascii", "ignore").decode().lower()
