"""The page a refused request gets: "we are very busy, try again", in the visitor's language.

It has to be cheap, since it is served exactly when the machine has no time to spare: it is
rendered once per language when the app starts (templates/serving/busy.html) and only filled in
for each request, with no database, no Redis and no session. A refused POST gets its fields back
as hidden inputs of a "Try again" form that posts them to the same address, CSRF token included,
so nothing the visitor typed is lost and pressing the button sends it again as it was.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, g, render_template, request
from markupsafe import Markup, escape
from werkzeug.datastructures import LanguageAccept
from werkzeug.formparser import parse_form_data
from werkzeug.http import parse_accept_header, parse_cookie

from campaigns.core.i18n import LANGUAGE_COOKIE
from campaigns.core.security import CONTENT_SECURITY_POLICY

# Placeholders in the pre-rendered page, replaced by each request's (escaped) values.
_ACTION = "busy-page-action-placeholder"
_FIELDS = "busy-page-fields-placeholder"
# Characters of a path that stay as they are in the retry address; the rest is %-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
# Never written back into a page, even one only its sender sees (it would sit in the HTML).
_NOT_ECHOED = ("password",)


class BusyPages:
    """The busy page in each language, with a retry form (for a POST) or a retry link."""

    def __init__(self, app: Flask) -> None:
        self.languages: tuple[str, ...] = tuple(app.config["LANGUAGES"])
        self.default = app.config["BABEL_DEFAULT_LOCALE"]
        self.max_body = app.config.get("MAX_CONTENT_LENGTH") or 256 * 1024
        self.pages = {
            (lang, form): _render(app, lang, form)
            for lang in self.languages
            for form in (False, True)
        }

    def language(self, environ: dict[str, Any]) -> str:
        """As the app chooses it: the address's language prefix, then the visitor's saved
        choice, then Accept-Language."""
        first = environ.get("PATH_INFO", "").lstrip("/").split("/", 1)[0]
        if first in self.languages:
            return first
        saved = parse_cookie(environ).get(LANGUAGE_COOKIE)
        if saved in self.languages:
            return saved
        accept = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
        return accept.best_match(self.languages) or self.default

    def render(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        """(language, page) for this request."""
        lang = self.language(environ)
        fields = self._posted_fields(environ)
        page = self.pages[(lang, fields is not None)]
        page = page.replace(_ACTION, str(escape(_retry_address(environ))))
        if fields is not None:
            page = page.replace(_FIELDS, _hidden_inputs(fields))
        return lang, page.encode()

    def _posted_fields(self, environ: dict[str, Any]) -> list[tuple[str, str]] | None:
        """The fields of a POSTed form; None when it is no form POST (or cannot be read)."""
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length > self.max_body:
            return None
        try:
            _stream, form, _files = parse_form_data(environ, max_content_length=self.max_body)
        except Exception:  # noqa: BLE001 - a body we cannot read: offer the link instead
            return None
        return [
            (name, value)
            for name, values in form.lists()
            for value in values
            if not any(word in name.lower() for word in _NOT_ECHOED)
        ]

    @staticmethod
    def headers(lang: str, length: int, retry_after: int) -> list[tuple[str, str]]:
        # The app's security headers (this answer bypasses the app), and never stored: it may
        # hold what the visitor typed.
        return [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(length)),
            ("Content-Language", lang),
            ("Retry-After", str(retry_after)),
            ("Cache-Control", "no-store"),
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),
        ]


def _render(app: Flask, lang: str, form: bool) -> str:
    with app.test_request_context(f"/{lang}/"):
        # As the app's URL preprocessor would have done for a page of this language.
        (request.view_args or {}).pop("lang", None)
        g.lang = lang
        return render_template(
            "serving/busy.html",
            form=form,
            action=_ACTION,
            fields=Markup(_FIELDS),  # noqa: S704 - a constant
        )


def _retry_address(environ: dict[str, Any]) -> str:
    """The address the visitor asked for, as a path on this site: never `//host` (which a
    browser would read as another site)."""
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    address = "/" + quote(path, safe=_PATH_SAFE, encoding="latin-1").lstrip("/")
    query = environ.get("QUERY_STRING", "")
    return f"{address}?{quote(query, safe='=&;%+/:@!$,', encoding='latin-1')}" if query else address


def _hidden_inputs(fields: list[tuple[str, str]]) -> str:
    return "\n  ".join(
        f'<input type="hidden" name="{_attribute(name)}" value="{_attribute(value)}">'
        for name, value in fields
    )


def _attribute(text: str) -> str:
    # Line breaks as character references: an attribute keeps them, and so does the retry.
    return str(escape(text)).replace("\r", "&#13;").replace("\n", "&#10;")
