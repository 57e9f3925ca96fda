"""The supporter's preferences page, linked from every email we send them: each signature,
letter and consent their address holds, each with its button to withdraw it.

No sign-in: the signed token in the link is the proof (privacy.tokens). Opening the page changes
nothing, since mail scanners open every link; each change is a form (POST, CSRF) whose answer says
what happened, on the page itself, in the page's language.

A mailing's unsubscribe token (in the List-Unsubscribe header, read by whoever handles the mail)
opens the newsletter choice only: the page it opens lists nothing else, and any other button
posted with it is refused, whatever id it names, before anything is read."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from campaigns.core.db import parse_id
from campaigns.core.errors import render_error
from campaigns.extensions import db
from campaigns.privacy import services, tokens

bp = Blueprint("privacy", __name__, url_prefix="/<lang>")


# The buttons of the full page only: a newsletter-only link may press none of them.
_EVERYTHING_ONLY = ("withdraw_signature", "hide_name", "withdraw_letter", "withdraw_network")


class BadRequest(Exception):
    """A form no button of the page sends."""


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> ResponseReturnValue:
    anchor = tokens.read_token(token)
    if anchor is None:
        return render_template("petitions/link_problem.html", problem="invalid"), 404
    if anchor.scope is not tokens.Scope.EVERYTHING:
        return _newsletter_only(token, anchor)
    email = anchor.email
    outcome = None
    if request.method == "POST" and email is not None:
        try:
            outcome = _apply(anchor, request.form)
        except BadRequest:
            return render_error(400)
        db.session.commit()  # before answering: a withdrawal holds from this moment
        if tokens.read_token(token) != anchor:
            # What the link named is erased now; the page goes on with another record of the
            # same address (or says nothing is left).
            token = tokens.token_for(email) or token
    prefs = services.preferences_of(email, str(get_locale())) if email else None
    page = render_template(
        "privacy/preferences.html",
        prefs=prefs if prefs is not None and not prefs.empty else None,
        address=_masked(email) if email else None,
        outcome=outcome,
        action=url_for(".preferences", token=token),
        date=_date,
    )
    return _private(make_response(page))


def _newsletter_only(token: str, anchor: tokens.Anchor) -> ResponseReturnValue:
    """The page as a newsletter-only link opens it: campaign news on or off. Its forms post
    back to the same link; it never moves them on to another record's token (tokens.token_for),
    which would open everything."""
    email, outcome, status = anchor.email, None, 200
    if request.method == "POST":
        if any(name in request.form for name in _EVERYTHING_ONLY):
            # Refused before any id is read: the answer is the same for every id, so it tells
            # nothing of what the address holds.
            outcome, status = (
                _("Nothing changed: this link only turns campaign news off or on."),
                403,
            )
        elif email is not None:
            try:
                outcome = _newsletter(anchor, request.form.get("newsletter", ""))
            except BadRequest:
                return render_error(400)
            db.session.commit()  # before answering: see services.newsletter_off
    page = render_template(
        "privacy/newsletter.html",
        news=services.newsletter_of(email) if email else None,
        outcome=outcome,
        action=url_for(".preferences", token=token),
    )
    return _private(make_response(page, status))


def _private(response: Response) -> Response:
    # The page lists what one person signed: kept by no cache and listed by no search engine.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _apply(anchor: tokens.Anchor, form: MultiDict[str, str]) -> str:
    """Make the change the pressed button asks for; returns the sentence that says what
    happened."""
    email, locale = anchor.email or "", str(get_locale())
    if "newsletter" in form:
        return _newsletter(anchor, form["newsletter"])
    if "withdraw_signature" in form:
        signature = services.withdraw_signature(email, _id(form, "withdraw_signature"), locale)
        if signature is None:
            return _already()
        if signature.was_confirmed:
            return _(
                "Your signature on “%(title)s” is withdrawn. It no longer counts, and we erased "
                "your name and email address from it.",
                title=signature.title,
            )
        return _(
            "Your unconfirmed signature on “%(title)s” is removed, with your name and email "
            "address.",
            title=signature.title,
        )
    if "hide_name" in form:
        title = services.hide_name(email, _id(form, "hide_name"), locale)
        if title is None:
            return _already()
        return _(
            "Your name is no longer shown on the page of “%(title)s”. Your signature still counts.",
            title=title,
        )
    if "withdraw_letter" in form:
        letter = services.withdraw_letter(email, _id(form, "withdraw_letter"), locale)
        return _already() if letter is None else _letter_withdrawn(letter)
    if "withdraw_network" in form:
        network = services.withdraw_network_consent(email, _id(form, "withdraw_network"))
        if network is None:
            return _already()
        return _(
            "%(network)s may no longer contact you, and no longer sees your name and email "
            "address.",
            network=network,
        )
    raise BadRequest


def _newsletter(anchor: tokens.Anchor, choice: str) -> str:
    email = anchor.email or ""
    if choice == "off":
        services.newsletter_off(email, anchor.mailing_id)
        return _("Done: we send you no more campaign news.")
    if choice == "on":
        if services.newsletter_on(email):
            return _("Done: you receive campaign news again.")
        return _already()
    raise BadRequest


def _letter_withdrawn(letter: services.LetterWithdrawn) -> str:
    said = [
        _(
            "Your letter for “%(title)s” is withdrawn, and we erased your name, email address and "
            "words from it.",
            title=letter.title,
        )
    ]
    if letter.stopped:
        said.append(
            ngettext(
                "%(num)d letter that had not gone yet will not be sent.",
                "%(num)d letters that had not gone yet will not be sent.",
                letter.stopped,
            )
        )
    if letter.delivered:
        said.append(
            ngettext(
                "%(num)d letter was delivered before: it cannot be called back.",
                "%(num)d letters were delivered before: they cannot be called back.",
                letter.delivered,
            )
        )
    return " ".join(said)


def _already() -> str:
    # Also what a forged id finds: the page says nothing of what another address holds.
    return _("Nothing changed: that was withdrawn already.")


def _id(form: MultiDict[str, str], field: str) -> int:
    found = parse_id(form.get(field))
    if found is None:
        raise BadRequest
    return found


def _masked(email: str) -> str:
    """ana@example.org -> a…@example.org: enough to tell one's addresses apart, and no more for
    whoever looks over the shoulder."""
    local, _at, domain = email.rpartition("@")
    return f"{local[:1]}…@{domain}"


def _date(value: datetime) -> str:
    return format_date(value, format="long")
