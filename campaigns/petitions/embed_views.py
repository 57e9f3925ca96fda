"""The embeddable signing form: a petition's form in an iframe on a member network's own site,
signing with the same double opt-in as the petition page and attributing the signature to that
network.

Only the network's registered origins may frame it (CSP frame-ancestors, see
`core.security.policy_framed_by`); every other page of the site stays unframeable. Inside the
frame our pages are third-party, so the embed works without any cookie: the language comes from
the URL, the form carries a signed token instead of the session's CSRF token
(`embed_tokens`), and no response of this blueprint sets a cookie. The confirmation link in the
email opens our own site in a tab of its own, where the normal confirmation page takes over.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from campaigns.core.db import commit_unit_of_work
from campaigns.core.links import TokenError, TokenExpired
from campaigns.core.page_cache import CSRF_PLACEHOLDER, page_cache
from campaigns.core.security import policy_framed_by
from campaigns.core.urls import public_url
from campaigns.extensions import csrf, db
from campaigns.networks.models import Network
from campaigns.petitions import services, signing
from campaigns.petitions.consent import data_use_notice
from campaigns.petitions.embed_tokens import check_embed_token, make_embed_token
from campaigns.petitions.forms import SignatureForm
from campaigns.petitions.models import Petition
from campaigns.petitions.submission import signature_input
from campaigns.petitions.tallies.services import Tally, current_tally

# The same counters as the petition page's (per IP, per hashed address): signing through an
# embed is signing, and gets no allowance of its own.
from campaigns.petitions.views import signing_too_often

bp = Blueprint("embed", __name__, url_prefix="/<lang>")


def _active_network_or_404(slug: str) -> Network:
    # A deactivated network gets no embeds: its frames show "page not found", unframed.
    network = db.session.scalar(
        select(Network).where(Network.slug == slug, Network.is_active.is_(True))
    )
    if network is None:
        abort(404)
    return network


def _petition_or_404(slug: str) -> Petition:
    # As on the petition page: a paused or closed petition still shows, saying so.
    petition = services.live_petition(slug)
    if petition is None:
        abort(404)
    return petition


def _framed(page: str, status: int, origins: tuple[str, ...] | list[str]) -> Response:
    """The page with the network's origins, and only those, allowed to frame it."""
    response = make_response(page, status)
    response.headers["Content-Security-Policy"] = policy_framed_by(origins)
    return response


def _render_form(
    network: Network,
    petition: Petition,
    form: SignatureForm,
    *,
    notice: str = "",
    csrf_value: str | None = None,
    tally: Tally | None = None,
) -> str:
    locale = str(get_locale())
    translation = petition.campaign.translation_for(locale)
    if translation is None:
        abort(404)
    campaign_slug = petition.campaign.slug
    return render_template(
        "petitions/embed.html",
        network=network,
        petition=petition,
        campaign=petition.campaign,
        translation=translation,
        shown_in_other_language=translation.locale != locale,
        tally=tally or current_tally(petition.id),
        form=form,
        form_action=url_for(".petition", network_slug=network.slug, slug=campaign_slug),
        # The partial names it csrf_token; here it holds the embed's own token (embed_tokens).
        csrf_value=csrf_value or make_embed_token(network.slug, campaign_slug),
        open_for_signing=services.accepts_signatures(petition),
        notice=notice,
        data_use=data_use_notice(locale),
        stepped_goal=services.stepped_goal,
        # The signing form offers "<network> may contact me" when it knows the network.
        consent_network=network,
        full_page_url=url_for("petitions.petition", slug=campaign_slug),
    )


def _form_page(
    network: Network, petition: Petition, form: SignatureForm, status: int, notice: str = ""
) -> Response:
    return _framed(
        _render_form(network, petition, form, notice=notice), status, network.embed_origins
    )


@dataclass(frozen=True)
class _EmbedTarget:
    """What serving a blank form needs from the database, remembered for a few seconds: a
    network deactivated or an origin removed takes effect within PAGE_CACHE_SECONDS."""

    petition_id: int
    origins: tuple[str, ...]


def _blank_form(network_slug: str, slug: str) -> Response:
    """The form before anything is typed, the same for every visitor but for its token: rendered
    once per network, petition, language and count, and served from memory. A network's site
    may show it on every page, so it must cost as little as the petition page."""
    cache = page_cache()
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    target = cache.get(("embed-target", network_slug, slug))
    if target is None:
        network = _active_network_or_404(network_slug)
        target = _EmbedTarget(_petition_or_404(slug).id, tuple(network.embed_origins))
        cache.put(("embed-target", network_slug, slug), target, seconds)
    # A browser's speculative prefetch is not a visit.
    prefetch = "prefetch" in request.headers.get("Sec-Purpose", request.headers.get("Purpose", ""))
    tally = current_tally(target.petition_id, count_view=not prefetch)
    key = ("embed-page", network_slug, target.petition_id, str(get_locale()), tally.total)
    page = cache.get(key)
    if page is None:
        network = _active_network_or_404(network_slug)
        petition = _petition_or_404(slug)
        if petition.id != target.petition_id:  # gone since we remembered its id
            cache.clear()
            abort(404)
        page = _render_form(
            network, petition, SignatureForm(), csrf_value=CSRF_PLACEHOLDER, tally=tally
        )
        cache.put(key, page, seconds)
    page = page.replace(CSRF_PLACEHOLDER, make_embed_token(network_slug, slug))
    return _framed(page, 200, target.origins)


@bp.route("/embed/<network_slug>/<slug>", methods=["GET", "POST"])
@csrf.exempt  # the browser may send no session cookie here: see embed_tokens
def petition(network_slug: str, slug: str) -> ResponseReturnValue:
    if request.method == "GET":
        return _blank_form(network_slug, slug)
    network = _active_network_or_404(network_slug)
    petition = _petition_or_404(slug)
    form = SignatureForm()
    if signing_too_often():
        # Not the site's error page: it may not be framed, and the signer would lose the form.
        form.validate()
        notice = _(
            "You have tried this too often in a short time. Please wait a few minutes and "
            "press the button again. We kept what you typed."
        )
        response = _form_page(network, petition, form, 429, notice)
        response.headers["Retry-After"] = "60"
        return response
    try:
        check_embed_token(request.form.get("csrf_token", ""), network.slug, slug)
    except TokenError as error:
        form.validate()
        if isinstance(error, TokenExpired):
            notice = _(
                "For your security this form had expired. We kept what you typed: please check "
                "it and press the button again."
            )
        else:
            notice = _(
                "This form could not be checked. We kept what you typed: please check it and "
                "press the button again."
            )
        return _form_page(network, petition, form, 400, notice)
    if not form.validate():
        status = 422 if services.accepts_signatures(petition) else 409
        return _form_page(network, petition, form, status)
    check_email_url = url_for(".check_email", network_slug=network.slug, slug=slug)
    if form.is_bot:
        # Look exactly like success, so the bot learns nothing.
        return redirect(check_email_url, 303)

    data = signature_input(form, request.base_url, source=network.slug)
    outcome, _signature_id = signing.sign(slug, data)
    commit_unit_of_work()
    if outcome is signing.SignOutcome.CLOSED:
        # Closed meanwhile: the commit expired what was loaded, so the page shows it as it is.
        return _form_page(network, petition, form, 409)
    # The same page whatever else happened: whether an address has signed is nobody's business.
    return redirect(check_email_url, 303)


@bp.route("/embed/<network_slug>/<slug>/check-email")
def check_email(network_slug: str, slug: str) -> ResponseReturnValue:
    """ "Check your email", inside the frame. Without a session it cannot name the address, as
    the petition page's does; the email is what tells its owner what happened."""
    network = _active_network_or_404(network_slug)
    petition = _petition_or_404(slug)
    translation = petition.campaign.translation_for(str(get_locale()))
    if translation is None:
        abort(404)
    page = render_template(
        "petitions/embed_check_email.html",
        network=network,
        petition=petition,
        translation=translation,
        form_url=url_for(".petition", network_slug=network.slug, slug=slug),
        resend_minutes=max(1, current_app.config["CONFIRMATION_RESEND_INTERVAL"] // 60),
    )
    return _framed(page, 200, network.embed_origins)


def embed_code(network_slug: str, campaign_slug: str, lang: str, title: str) -> Markup:
    """The HTML a network pastes into its page: the iframe, and the script that fits its height
    to the form (optional: without it the frame keeps its initial height, and scrolls)."""
    form_url = public_url(
        "embed.petition", lang=lang, network_slug=network_slug, slug=campaign_slug
    )
    script_url = public_url("static", filename="embed-resize.js")
    with force_locale(lang):
        frame_title = _("Sign the petition: %(title)s", title=title)
    return Markup(  # noqa: S704 - every value is escaped
        f'<iframe src="{escape(form_url)}" title="{escape(frame_title)}" width="100%" '
        f'height="900" style="border:0;max-width:40rem" loading="lazy"></iframe>\n'
        f'<script src="{escape(script_url)}" async></script>'
    )
