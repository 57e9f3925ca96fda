"""The public petition journey: sign, check your email, confirm (or "it wasn't me"), thank you;
and the confirmation of a network's consent given by signing again."""

from __future__ import annotations

import hashlib
import hmac
import logging

import redis
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import escape

from campaigns.campaign.models import Campaign, CampaignTranslation
from campaigns.core.db import commit_unit_of_work
from campaigns.core.errors import expired_form_page
from campaigns.core.links import TokenError, TokenExpired
from campaigns.core.page_cache import CSRF_PLACEHOLDER, page_cache
from campaigns.core.ratelimit import over_limit
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.petitions import returning_consent, services, signing
from campaigns.petitions.consent import data_use_notice
from campaigns.petitions.forms import SignatureForm
from campaigns.petitions.models import Petition, SignatureStatus
from campaigns.petitions.network_consent import country_offers, source_network
from campaigns.petitions.submission import signature_input
from campaigns.petitions.tallies.services import Tally, count_confirmed, current_tally

log = logging.getLogger(__name__)

# Session key: the address just signed with, shown once by the "check your email" page.
SIGNED_WITH = "signed_with"
# Rendered into a cached "check your email" page where that address goes.
ADDRESS_PLACEHOLDER = "__signed-with-address__"

bp = Blueprint("petitions", __name__, url_prefix="/<lang>")


def email_rate_key(email: str) -> str:
    """Whom the per-address signing limit counts (the API's signatures count with the form's).
    A keyed hash, so the rate-limit keys in Redis reveal no address, even to a dictionary."""
    secret = current_app.config["SECRET_KEY"].encode()
    normalized = signing.normalize_email(email)
    return hmac.new(secret, normalized.encode(), hashlib.sha256).hexdigest()[:32]


def signing_too_often() -> bool:
    """Count this sign POST per IP and per address (shared by all web workers, in Redis)."""
    config = current_app.config
    email_key = email_rate_key(request.form.get("email", ""))
    return over_limit(
        ("sign-ip", request.remote_addr or "", config["RATELIMIT_SIGN_PER_IP"]),
        ("sign-email", email_key, config["RATELIMIT_SIGN_PER_EMAIL"]),
    )


def _petition_or_404(slug: str) -> Petition:
    petition = services.live_petition(slug)
    if petition is None:
        abort(404)
    return petition


def _render_petition(
    petition: Petition,
    form: SignatureForm,
    status: int = 200,
    notice: str = "",
    tally: Tally | None = None,
    csrf_value: str | None = None,
) -> tuple[str, int]:
    translation = petition.campaign.translation_for(str(get_locale()))
    if translation is None:
        abort(404)
    page = render_petition_page(
        petition, translation, form, notice=notice, tally=tally, csrf_value=csrf_value
    )
    return page, status


def render_petition_page(
    petition: Petition,
    translation: CampaignTranslation,
    form: SignatureForm,
    *,
    template: str = "petitions/petition.html",
    notice: str = "",
    tally: Tally | None = None,
    csrf_value: str | None = None,
    open_for_signing: bool | None = None,
    **extra: object,
) -> str:
    """The petition page in the current language. The staff preview renders it too, in a
    template extending this one, so what staff check is what the public gets."""
    locale = str(get_locale())
    if open_for_signing is None:
        open_for_signing = services.accepts_signatures(petition)
    # "<network> may contact me": for the network that brought the signer, else for the one of
    # the country they choose (every country's offer is on the page, the same for everyone).
    if "consent_network" not in extra:
        extra["consent_network"] = source_network(form.source.data)
    if extra["consent_network"] is None and "network_offers" not in extra:
        extra["network_offers"] = country_offers(locale)
    return render_template(
        template,
        petition=petition,
        campaign=petition.campaign,
        translation=translation,
        shown_in_other_language=translation.locale != locale,
        tally=tally or current_tally(petition.id),
        public_signers=services.recent_public_signers(petition.id),
        form=form,
        csrf_value=csrf_value or generate_csrf(),
        open_for_signing=open_for_signing,
        notice=notice,
        data_use=data_use_notice(locale),
        stepped_goal=services.stepped_goal,
        **extra,
    )


def _blank_petition_page(slug: str) -> str:
    """The page before anything is typed: the same for every visitor but for the CSRF token,
    so it is rendered once per language, `?source=` code and count, and served from memory."""
    cache = page_cache()
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    petition_id = cache.get(("petition-id", slug))
    if petition_id is None:
        petition_id = _petition_or_404(slug).id
        cache.put(("petition-id", slug), petition_id, seconds)
    source = request.args.get("source", "")[:40]
    # A browser's speculative prefetch is not a visit.
    prefetch = "prefetch" in request.headers.get("Sec-Purpose", request.headers.get("Purpose", ""))
    tally = current_tally(petition_id, count_view=not prefetch)
    key = ("petition-page", petition_id, str(get_locale()), source, tally.total)
    page = cache.get(key)
    if page is None:
        petition = services.live_petition(slug)
        if petition is None or petition.id != petition_id:  # gone since we remembered its id
            cache.clear()
            abort(404)
        form = SignatureForm()
        form.source.data = source
        page, _status = _render_petition(petition, form, tally=tally, csrf_value=CSRF_PLACEHOLDER)
        cache.put(key, page, seconds)
    return page.replace(CSRF_PLACEHOLDER, generate_csrf())


@bp.route("/c/<slug>", methods=["GET", "POST"])
def petition(slug: str) -> ResponseReturnValue:
    if request.method == "GET":
        return _blank_petition_page(slug)
    if signing_too_often():
        abort(429)
    form = SignatureForm()
    if not form.validate():
        petition = _petition_or_404(slug)
        status = 422 if services.accepts_signatures(petition) else 409
        return _render_petition(petition, form, status=status)
    if form.is_bot:
        # Look exactly like success, so the bot learns nothing.
        return redirect(url_for(".check_email", slug=slug), 303)

    outcome, _signature_id = signing.sign(slug, signature_input(form, request.base_url))
    commit_unit_of_work()
    if outcome is signing.SignOutcome.CLOSED:
        return _render_petition(_petition_or_404(slug), form, status=409)
    # For the next page only, which names it so that a mistyped address shows.
    session[SIGNED_WITH] = signing.normalize_email(form.email.data)  # where the mail goes
    # The same page whatever else happened: whether an address has signed is nobody else's
    # business.
    return redirect(url_for(".check_email", slug=slug), 303)


@bp.errorhandler(CSRFError)
def expired_form(_error: CSRFError) -> ResponseReturnValue:
    """A stale or missing CSRF token: show the form again with what was typed, and a new token."""
    slug = (request.view_args or {}).get("slug")
    petition = services.live_petition(slug) if slug else None
    if petition is None or request.endpoint != "petitions.petition":
        return expired_form_page()
    form = SignatureForm()
    form.validate()
    notice = _(
        "For your security this form had expired. We kept what you typed: please check "
        "it and press the button again."
    )
    return _render_petition(petition, form, status=400, notice=notice)


@bp.route("/c/<slug>/check-email")
def check_email(slug: str) -> ResponseReturnValue:
    address = session.get(SIGNED_WITH)
    page = _check_email_page(slug, with_address=bool(address))  # a 404 leaves it for later
    session.pop(SIGNED_WITH, None)  # shown once
    # Escaped as the template would have escaped it (autoescape of a gettext argument).
    return page.replace(ADDRESS_PLACEHOLDER, str(escape(address))) if address else page


def _check_email_page(slug: str, *, with_address: bool) -> str:
    """The page after every sign POST: the same for every signer of a petition in a language but
    for the address, so it is rendered once per petition, language and variant and served from
    memory (it was a journey's costliest request: two queries and a full render)."""
    cache = page_cache()
    # The language links keep the query: a page asked for with one is rendered afresh.
    key = ("check-email", slug, str(get_locale()), with_address)
    page = cache.get(key) if not request.args else None
    if page is None:
        petition = _petition_or_404(slug)
        page = render_template(
            "petitions/check_email.html",
            petition=petition,
            translation=petition.campaign.translation_for(str(get_locale())),
            address=ADDRESS_PLACEHOLDER if with_address else None,
            resend_minutes=max(1, current_app.config["CONFIRMATION_RESEND_INTERVAL"] // 60),
        )
        if not request.args:
            cache.put(key, page, current_app.config["PAGE_CACHE_SECONDS"])
    return page


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """The link in the mail shows a button; pressing it confirms. Mail scanners open links (GET)
    but press no buttons, so they cannot confirm a signature for someone."""
    try:
        signature = services.signature_from_token(token, "confirm")
    except TokenExpired:
        return render_template("petitions/link_problem.html", problem="expired"), 410
    except TokenError:
        return render_template("petitions/link_problem.html", problem="invalid"), 404
    if signature.status == SignatureStatus.REJECTED:
        return render_template("petitions/link_problem.html", problem="withdrawn"), 410
    campaign = signature.petition.campaign
    if signature.status == SignatureStatus.PENDING and request.method == "GET":
        translation = campaign.translation_for(str(get_locale()))
        return render_template("petitions/confirm.html", translation=translation, token=token)

    if services.confirm(signature):
        db.session.commit()
        try:
            # Count at once so the thank-you page includes this signature; the worker's handler
            # for signature.confirmed does the same idempotently if this fails.
            count_confirmed(signature)
        except redis.RedisError:
            log.warning("could not count signature %s now; the worker will", signature.id)
    return redirect(url_for(".thanks", slug=campaign.slug), 303)


@bp.route("/not-me/<token>", methods=["GET", "POST"])
def reject(token: str) -> ResponseReturnValue:
    try:
        signature = services.signature_from_token(token, "reject")
    except TokenError:
        return render_template("petitions/link_problem.html", problem="invalid"), 404
    campaign = signature.petition.campaign
    translation = campaign.translation_for(str(get_locale()))
    # A confirmed signature is withdrawn by its signer, who changed their mind; a pending one by
    # the owner of an address someone else typed. The pages speak to each.
    withdrawing = signature.status == SignatureStatus.CONFIRMED
    if request.method == "POST":
        # Link scanners only follow links (GET); removing takes a press of the button.
        services.reject(signature)
        db.session.commit()
        return render_template(
            "petitions/rejected.html", translation=translation, withdrawn=withdrawing
        )
    if signature.status == SignatureStatus.REJECTED:
        return render_template("petitions/rejected.html", translation=translation, withdrawn=False)
    return render_template(
        "petitions/reject.html", translation=translation, token=token, withdrawing=withdrawing
    )


@bp.route("/network-consent/<token>", methods=["GET", "POST"])
def confirm_network_consent(token: str) -> ResponseReturnValue:
    """The link in the "you have already signed" mail that confirms "<network> may contact me",
    ticked by someone signing again (petitions.returning_consent). The link shows the box's words
    and a button; pressing it confirms. Mail scanners open links but press no buttons."""
    try:
        consent = returning_consent.consent_from_token(token)
    except TokenExpired:
        return render_template("petitions/link_problem.html", problem="expired"), 410
    except TokenError:
        return render_template("petitions/link_problem.html", problem="invalid"), 404
    if request.method == "POST" and consent.state is returning_consent.ConsentState.AWAITING:
        returning_consent.confirm(consent.consent_id)
        db.session.commit()
        consent = returning_consent.consent_from_token(token)  # as it is now (withdrawn since?)
    campaign = db.session.get(Campaign, consent.campaign_id)
    return render_template(
        "petitions/network_consent.html",
        consent=consent,
        translation=campaign.translation_for(str(get_locale())),
        token=token,
    )


@bp.route("/c/<slug>/thanks")
def thanks(slug: str) -> ResponseReturnValue:
    petition = _petition_or_404(slug)
    campaign = petition.campaign
    translation = campaign.translation_for(str(get_locale()))
    page_url = public_url("petitions.petition", slug=slug)
    return render_template(
        "petitions/thanks.html",
        petition=petition,
        campaign=campaign,
        translation=translation,
        tally=current_tally(petition.id),
        share_url=page_url,
        stepped_goal=services.stepped_goal,
    )
