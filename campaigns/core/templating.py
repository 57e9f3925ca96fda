"""What every template can use: the page language and its switcher, numbers, safe Markdown."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from flask import Flask, Response, abort, current_app, g, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import refresh as refresh_babel
from markupsafe import Markup

from campaigns.core.i18n import LANGUAGE_COOKIE, country_name, language_name


def render_markdown(text: str) -> Markup:
    """Staff-written Markdown as HTML, sanitised so that no script or handler survives."""
    html = markdown_lib.markdown(text or "", extensions=["sane_lists"])
    return Markup(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S704 - sanitised


def _language_links() -> list[dict[str, object]]:
    """The current page in each language (for the switcher)."""
    if request.endpoint is None or request.view_args is None:
        return []
    links = []
    for code in current_app.config["LANGUAGES"]:
        if current_app.url_map.is_endpoint_expecting(request.endpoint, "lang"):
            # Keep the query (e.g. ?source=), but never let it override the route's own values
            # or url_for's options (_external, _anchor...).
            query = {
                k: v
                for k, v in request.args.items()
                if k not in request.view_args and k != "lang" and not k.startswith("_")
            }
            href = url_for(request.endpoint, **request.view_args, lang=code, **query)
        else:
            href = url_for("home.home", lang=code)
        links.append({"code": code, "name": language_name(code), "href": href})
    return links


def init_templating(app: Flask) -> None:
    languages = app.config["LANGUAGES"]

    @app.url_value_preprocessor
    def take_language_from_url(_endpoint: str | None, values: dict | None) -> None:
        # Start every request from a clean slate: an app context can outlive a request (in tests,
        # in a worker building URLs) and must not lend it the previous request's language.
        g.pop("lang", None)
        g.pop(
            app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None
        )  # Flask-WTF's per-request token
        refresh_babel()
        if values and "lang" in values:
            lang = values.pop("lang")
            if lang not in languages:
                abort(404)
            g.lang = lang

    @app.url_defaults
    def add_language_to_urls(endpoint: str, values: dict) -> None:
        if "lang" in values or not getattr(g, "lang", None):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = g.lang

    @app.after_request
    def remember_language(response: Response) -> Response:
        lang = getattr(g, "lang", None)
        # Not from the embeddable form: in a frame on a network's site the browser may refuse
        # our cookies, so it sets none and depends on none (the language is in its address).
        embedded = request.blueprint == "embed"
        if (
            lang
            and not embedded
            and request.cookies.get(LANGUAGE_COOKIE) != lang
            and response.status_code < 400
        ):
            response.set_cookie(
                LANGUAGE_COOKIE,
                lang,
                max_age=365 * 24 * 3600,
                secure=app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
                samesite="Lax",
            )
        return response

    @app.context_processor
    def page_context() -> dict[str, object]:
        return {
            "page_lang": str(get_locale()),
            "language_links": _language_links,
        }

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["number"] = lambda n: format_decimal(n or 0)
    app.jinja_env.filters["country_name"] = country_name
    app.jinja_env.filters["markdown"] = render_markdown
