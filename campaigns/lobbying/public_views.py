"""The public letter journey: write, check your email, confirm (or "it wasn't me"), thank you."""

from __future__ import annotations

import hashlib
import hmac

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
from flask_wtf.csrf import CSRFError

from campaigns.core.db import commit_unit_of_work
from campaigns.core.errors import expired_form_page
from campaigns.core.i18n import SIGNER_COUNTRIES
from campaigns.core.links import TokenError, TokenExpired
from campaigns.core.ratelimit import over_limit
from campaigns.extensions import db
from campaigns.lobbying import services, writing
from campaigns.lobbying.forms import LetterForm
from campaigns.lobbying.letters import letter_version
from campaigns.lobbying.mode import letters_go_live
from campaigns.lobbying.models import Letter, LetterAction, LetterStatus
from campaigns.lobbying.selection import Selection, targets_for
from campaigns.petitions.consent import wording

bp = Blueprint("lobbying", __name__, url_prefix="/<lang>")

# Session keys: the address just written with (shown once by "check your email") and the letter
# just confirmed (whose recipients the thank-you page names).
WROTE_WITH = "wrote_with"
CONFIRMED_LETTER = "confirmed_letter"


@bp.context_processor
def _helpers() -> dict[str, object]:
    return {"seat_label": seat_label}


def seat_label(seat: tuple[str, str]) -> str:
    """An MEP's seat that put them on the list: "LIBE, chair"."""
    committee, role = seat
    labels = {
        "chair": _("chair"),
        "vice-chair": _("vice-chair"),
        "member": _("member"),
        "substitute": _("substitute member"),
    }
    return _("%(committee)s, %(role)s", committee=committee, role=labels.get(role, role))


def _action_or_404(slug: str) -> LetterAction:
    action = services.live_action(slug)
    if action is None or action.campaign.translation_for(str(get_locale())) is None:
        abort(404)
    return action


def _selection(action: LetterAction, country: str | None) -> Selection | None:
    valid = country in SIGNER_COUNTRIES or country == "ZZ"
    return targets_for(action, country) if valid else None


def _render(
    action: LetterAction, form: LetterForm, status: int = 200, notice: str = ""
) -> tuple[str, int]:
    locale = str(get_locale())
    campaign = action.campaign
    translation = campaign.translation_for(locale)
    letter = letter_version(campaign, [locale], locale)  # the page: in its own language first
    if form.action.edit_policy == "full" and not form.is_submitted():
        form.subject.data, form.body.data = letter.letter_subject, letter.letter_body
    page = render_template(
        "lobbying/write.html",
        action=action,
        campaign=campaign,
        translation=translation,
        letter=letter,
        shown_in_other_language=translation.locale != locale,
        form=form,
        selection=_selection(action, form.country.data),
        open_for_letters=services.accepts_letters(action),
        letters=services.confirmed_letters(action.id),
        test_mode=not letters_go_live(action),
        notice=notice,
        data_use=wording(writing.LETTER_PURPOSE, locale),
    )
    return page, status


def _rate_key() -> str:
    email = services.normalize_email(request.form.get("email", ""))
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, email.encode(), hashlib.sha256).hexdigest()[:32]


def _too_often() -> bool:
    config = current_app.config
    return over_limit(
        ("letter-ip", request.remote_addr or "", config["RATELIMIT_SIGN_PER_IP"]),
        ("letter-email", _rate_key(), config["RATELIMIT_SIGN_PER_EMAIL"]),
    )


@bp.route("/write/<slug>", methods=["GET", "POST"])
def write(slug: str) -> ResponseReturnValue:
    action = _action_or_404(slug)
    if request.method == "GET":
        form = LetterForm(action, formdata=None)
        form.source.data = request.args.get("source", "")[:40]
        form.country.data = request.args.get("country", "")[:2] or None
        return _render(action, form)
    form = LetterForm(action)
    if "preview" in request.form:
        # "Show who receives it" without JavaScript: the same page, for the country chosen,
        # with everything typed kept and no error shown yet.
        form.country.data = request.form.get("country", "")[:2]
        return _render(action, form)
    if not services.accepts_letters(action):
        return _render(action, form, status=409)
    if _too_often():
        abort(429)
    if not form.validate():
        return _render(action, form, status=422)
    selection = targets_for(action, form.country.data)
    if not selection:
        form.country.errors.append(
            _(
                "Nobody can receive this letter from the country you chose. Please check your "
                "country, or write to us: we will pass your message on."
            )
        )
        return _render(action, form, status=422)
    if form.is_bot:
        return redirect(url_for(".check_email", slug=slug), 303)
    writing.write(
        action,
        writing.LetterInput(
            name=form.name.data,
            email=form.email.data,
            country=form.country.data,
            locale=str(get_locale()),
            note=form.note.data or "" if action.edit_policy == "note" else "",
            subject=form.subject.data or "" if action.edit_policy == "full" else "",
            body=form.body.data or "" if action.edit_policy == "full" else "",
            source=form.source.data or "",
            source_url=request.base_url,
        ),
        selection.targets,
    )
    commit_unit_of_work()
    session[WROTE_WITH] = services.normalize_email(form.email.data)
    return redirect(url_for(".check_email", slug=slug), 303)


@bp.route("/write/<slug>/recipients")
def recipients(slug: str) -> ResponseReturnValue:
    """Who receives the letter from a country: the list the page updates as the country changes."""
    action = _action_or_404(slug)
    return render_template(
        "lobbying/_recipients.html",
        selection=_selection(action, request.args.get("country", "")[:2]),
    )


@bp.errorhandler(CSRFError)
def expired_form(_error: CSRFError) -> ResponseReturnValue:
    slug = (request.view_args or {}).get("slug")
    action = services.live_action(slug) if slug else None
    if action is None or request.endpoint != "lobbying.write":
        return expired_form_page()
    form = LetterForm(action)
    form.validate()
    notice = _(
        "For your security this form had expired. We kept what you typed: please check "
        "it and press the button again."
    )
    return _render(action, form, status=400, notice=notice)


@bp.route("/write/<slug>/check-email")
def check_email(slug: str) -> ResponseReturnValue:
    action = _action_or_404(slug)
    return render_template(
        "lobbying/check_email.html",
        campaign=action.campaign,
        translation=action.campaign.translation_for(str(get_locale())),
        address=session.pop(WROTE_WITH, None),
        resend_minutes=max(1, current_app.config["CONFIRMATION_RESEND_INTERVAL"] // 60),
    )


def _link_problem(problem: str, status: int) -> tuple[str, int]:
    return render_template("lobbying/link_problem.html", problem=problem), status


@bp.route("/letters/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """The link shows a button; pressing it confirms (mail scanners open links, press nothing)."""
    try:
        letter = services.letter_from_token(token, "confirm")
    except TokenExpired:
        return _link_problem("expired", 410)
    except TokenError:
        return _link_problem("invalid", 404)
    if letter.status == LetterStatus.REJECTED:
        return _link_problem("withdrawn", 410)
    campaign = letter.action.campaign
    if letter.status == LetterStatus.PENDING and request.method == "GET":
        return render_template(
            "lobbying/confirm.html",
            translation=campaign.translation_for(str(get_locale())),
            token=token,
            letter=letter,
            deliveries=services.delivered_to(letter),
        )
    if services.confirm(letter):
        db.session.commit()
    session[CONFIRMED_LETTER] = letter.id
    return redirect(url_for(".thanks", slug=campaign.slug), 303)


@bp.route("/letters/not-me/<token>", methods=["GET", "POST"])
def reject(token: str) -> ResponseReturnValue:
    try:
        letter = services.letter_from_token(token, "reject")
    except TokenError:
        return _link_problem("invalid", 404)
    translation = letter.action.campaign.translation_for(str(get_locale()))
    withdrawing = letter.status == LetterStatus.CONFIRMED
    if request.method == "POST":
        services.reject(letter)
        db.session.commit()
        return render_template(
            "lobbying/rejected.html", translation=translation, withdrawn=withdrawing
        )
    if letter.status == LetterStatus.REJECTED:
        return render_template("lobbying/rejected.html", translation=translation, withdrawn=False)
    return render_template(
        "lobbying/reject.html", translation=translation, token=token, withdrawing=withdrawing
    )


@bp.route("/write/<slug>/thanks")
def thanks(slug: str) -> ResponseReturnValue:
    action = _action_or_404(slug)
    letter_id = session.get(CONFIRMED_LETTER)
    letter = db.session.get(Letter, letter_id) if letter_id else None
    if letter is not None and letter.action_id != action.id:
        letter = None
    return render_template(
        "lobbying/thanks.html",
        campaign=action.campaign,
        translation=action.campaign.translation_for(str(get_locale())),
        deliveries=services.delivered_to(letter) if letter else [],
        letters=services.confirmed_letters(action.id),
        test_mode=not letters_go_live(action),
    )
