"""Staff pages for mailings: list, compose, preview, test, schedule, and follow the sending."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from campaigns.audit.services import record as audit
from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.core.i18n import SIGNER_COUNTRIES, country_name, language_name
from campaigns.extensions import db
from campaigns.mailings import sending
from campaigns.mailings.audience import Audience, count_recipients, first_name
from campaigns.mailings.compose import MERGE_FIELD, MERGE_FIELDS, prepare
from campaigns.mailings.forms import ScheduleForm, TestSendForm, mailing_form
from campaigns.mailings.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingStatus,
    MailingVersion,
    Suppression,
    SuppressionReason,
)
from campaigns.networks.models import Network
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.models import Capability, StaffUser

bp = Blueprint("staff_mailings", __name__, url_prefix="/staff/mailings")
SEND = Capability.SEND_MAILINGS


def _mailing_or_404(mailing_id: int) -> Mailing:
    return db.get_or_404(Mailing, mailing_id)


@bp.route("/")
@staff_required(SEND)
def index():  # noqa: ANN201
    mailings = db.session.scalars(select(Mailing).order_by(Mailing.id.desc())).all()
    counts = dict(
        db.session.execute(
            select(Delivery.mailing_id, func.count())
            .where(Delivery.status == DeliveryStatus.SENT)
            .group_by(Delivery.mailing_id)
        ).all()
    )
    return render_template("mailings/staff/index.html", mailings=mailings, sent=counts)


# --- Compose ---------------------------------------------------------------------------------


def _fill_choices(form) -> None:  # noqa: ANN001
    languages = current_app.config["LANGUAGES"]
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()
    titles = [(c.id, campaign_title(c)) for c in campaigns]
    form.default_locale.choices = [(code, language_name(code)) for code in languages]
    form.locales.choices = [(code, language_name(code)) for code in languages]
    form.action_campaign_id.choices = [("", _("None"))] + [(str(i), t) for i, t in titles]
    form.campaign_ids.choices = titles
    form.countries.choices = sorted(
        ((cc, country_name(cc)) for cc in SIGNER_COUNTRIES), key=lambda c: c[1]
    )
    form.network_ids.choices = [
        (n.id, n.name) for n in db.session.scalars(select(Network).order_by(Network.name))
    ]


def campaign_title(campaign: Campaign) -> str:
    translation = campaign.translation_for(campaign.default_locale)
    return translation.title if translation else campaign.slug


def _load(form, mailing: Mailing) -> None:  # noqa: ANN001
    audience = Audience.from_dict(mailing.audience)
    form.name.data = mailing.name
    form.default_locale.data = mailing.default_locale
    form.action_campaign_id.data = str(mailing.action_campaign_id or "")
    form.campaign_ids.data = audience.campaign_ids
    form.countries.data = audience.countries
    form.locales.data = audience.locales
    form.network_ids.data = audience.network_ids
    for version in mailing.versions:
        if hasattr(form, f"subject_{version.locale}"):
            getattr(form, f"subject_{version.locale}").data = version.subject
            getattr(form, f"body_{version.locale}").data = version.body_markdown


def _versions_valid(form) -> bool:  # noqa: ANN001
    ok = True
    for code in current_app.config["LANGUAGES"]:
        subject, body = getattr(form, f"subject_{code}"), getattr(form, f"body_{code}")
        if bool(subject.data) != bool((body.data or "").strip()):
            empty = body if subject.data else subject
            empty.errors.append(_("Write both a subject and a text in this language, or neither."))
            ok = False
    default = form.default_locale.data
    if not getattr(form, f"subject_{default}").data:
        getattr(form, f"subject_{default}").errors.append(
            _("The default language needs its version: every recipient without one gets it.")
        )
        ok = False
    return ok


def _save(form, mailing: Mailing) -> None:  # noqa: ANN001
    mailing.name = form.name.data
    mailing.default_locale = form.default_locale.data
    mailing.action_campaign_id = (
        int(form.action_campaign_id.data) if form.action_campaign_id.data else None
    )
    mailing.audience = Audience(
        campaign_ids=form.campaign_ids.data or [],
        countries=form.countries.data or [],
        locales=form.locales.data or [],
        network_ids=form.network_ids.data or [],
    ).to_dict()
    existing = {v.locale: v for v in mailing.versions}
    for code in current_app.config["LANGUAGES"]:
        subject = getattr(form, f"subject_{code}").data
        body = getattr(form, f"body_{code}").data
        if subject:
            version = existing.get(code) or MailingVersion(locale=code)
            version.subject, version.body_markdown = subject, body
            if code not in existing:
                mailing.versions.append(version)
        elif code in existing:
            mailing.versions.remove(existing[code])


def _compose(mailing: Mailing | None):  # noqa: ANN202
    if mailing is not None and mailing.status != MailingStatus.DRAFT:
        flash(_("Only a draft can be edited. Unschedule it first."), "error")
        return redirect(url_for(".show", mailing_id=mailing.id))
    form = mailing_form()
    _fill_choices(form)
    if request.method == "GET" and mailing is not None:
        _load(form, mailing)
    if form.validate_on_submit() and _versions_valid(form):
        new = mailing is None
        if new:
            mailing = Mailing(created_by_id=current_staff().id, status=MailingStatus.DRAFT)
            db.session.add(mailing)
        _save(form, mailing)
        db.session.flush()
        audit("mailing.saved", target=mailing, detail={"name": mailing.name, "new": new})
        db.session.commit()
        flash(_("Mailing saved."), "success")
        return redirect(url_for(".show", mailing_id=mailing.id))
    return (
        render_template(
            "mailings/staff/compose.html",
            form=form,
            mailing=mailing,
            merge_fields=MERGE_FIELDS,
            languages=current_app.config["LANGUAGES"],
        ),
        422 if form.errors else 200,
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(SEND)
def new():  # noqa: ANN201
    return _compose(None)


@bp.route("/<int:mailing_id>/edit", methods=["GET", "POST"])
@staff_required(SEND)
def edit(mailing_id: int):  # noqa: ANN201
    return _compose(_mailing_or_404(mailing_id))


# --- Overview, preview, test ------------------------------------------------------------------


def _stats(mailing: Mailing) -> dict[str, object]:
    progress = sending.progress(mailing)
    unsubscribed = db.session.scalar(
        select(func.count())
        .select_from(Suppression)
        .where(
            Suppression.mailing_id == mailing.id,
            Suppression.reason == SuppressionReason.UNSUBSCRIBED,
        )
    )
    failures = db.session.scalars(
        select(Delivery)
        .where(
            Delivery.mailing_id == mailing.id,
            Delivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.BOUNCED]),
        )
        .order_by(Delivery.id)
        .limit(100)
    ).all()
    return {
        "progress": progress,
        "eta_text": eta_text(progress),
        "unsubscribed": unsubscribed,
        "failures": failures,
    }


@bp.route("/<int:mailing_id>")
@staff_required(SEND)
def show(mailing_id: int):  # noqa: ANN201
    mailing = _mailing_or_404(mailing_id)
    test_form = TestSendForm()
    test_form.locale.choices = [(v.locale, language_name(v.locale)) for v in mailing.versions]
    recipients = None
    if mailing.status in (MailingStatus.DRAFT, MailingStatus.SCHEDULED):
        recipients = count_recipients(Audience.from_dict(mailing.audience))
    return render_template(
        "mailings/staff/show.html",
        mailing=mailing,
        recipients=recipients,
        test_form=test_form,
        schedule_form=ScheduleForm(),
        audience=Audience.from_dict(mailing.audience),
        campaigns={c.id: c for c in db.session.scalars(select(Campaign))},
        networks={n.id: n for n in db.session.scalars(select(Network))},
        **_stats(mailing),
    )


@bp.route("/<int:mailing_id>/progress.json")
@staff_required(SEND)
def progress_json(mailing_id: int):  # noqa: ANN201
    mailing = _mailing_or_404(mailing_id)
    progress = sending.progress(mailing)
    return jsonify(
        status=str(mailing.status),
        total=progress.total,
        percent=progress.percent,
        sent=progress.by_status.get("sent", 0),
        failed=progress.by_status.get("failed", 0) + progress.by_status.get("bounced", 0),
        skipped=progress.by_status.get("skipped", 0),
        remaining=progress.by_status.get("queued", 0) + progress.by_status.get("sending", 0),
        per_minute=progress.rate_per_minute,
        finished_in_seconds=progress.finished_in_seconds,
        eta=eta_text(progress),
    )


def eta_text(progress: sending.Progress) -> str:
    """ ", finished in about N min" while it sends at a measurable rate, else nothing."""
    if not progress.finished_in_seconds:
        return ""
    minutes = math.ceil(progress.finished_in_seconds / 60)
    return ", " + _("finished in about %(minutes)d min", minutes=minutes)


@bp.route("/<int:mailing_id>/preview/<locale>")
@staff_required(SEND)
def preview(mailing_id: int, locale: str):  # noqa: ANN201
    mailing = _mailing_or_404(mailing_id)
    version = next((v for v in mailing.versions if v.locale == locale), None)
    if version is None:
        abort(404)
    prepared = prepare(version.locale, version.subject, version.body_markdown)
    values = sending.merge_values(mailing, locale, first_name=first_name(current_staff().name))
    subject, text, html = prepared.render(values)
    return render_template(
        "mailings/staff/preview.html",
        mailing=mailing,
        version=version,
        subject=subject,
        text=text,
        html=html,
    )


@bp.route("/<int:mailing_id>/test", methods=["POST"])
@staff_required(SEND)
def test_send(mailing_id: int):  # noqa: ANN201
    from workers.mailings import send_test_mailing

    mailing = _mailing_or_404(mailing_id)
    form = TestSendForm()
    form.locale.choices = [(v.locale, language_name(v.locale)) for v in mailing.versions]
    if not form.validate_on_submit():
        flash(_("Choose a language with a version to test."), "error")
        return redirect(url_for(".show", mailing_id=mailing.id))
    wanted = {
        line.strip().lower() for line in (form.addresses.data or "").splitlines() if line.strip()
    }
    wanted = wanted or {current_staff().email}
    staff_emails = set(
        db.session.scalars(select(StaffUser.email).where(StaffUser.is_active.is_(True)))
    )
    unknown = sorted(wanted - staff_emails)
    if unknown:
        # Tests go to staff only: the platform must not mail people who never asked for it.
        flash(_("Not a staff address: %(addresses)s", addresses=", ".join(unknown)), "error")
        return redirect(url_for(".show", mailing_id=mailing.id))
    audit(
        "mailing.test_sent",
        target=mailing,
        detail={"to": sorted(wanted), "locale": form.locale.data},
    )
    db.session.commit()
    send_test_mailing.delay(mailing.id, form.locale.data, sorted(wanted))
    flash(
        _("The test is on its way to %(addresses)s.", addresses=", ".join(sorted(wanted))),
        "success",
    )
    return redirect(url_for(".show", mailing_id=mailing.id))


# --- Schedule and control ----------------------------------------------------------------------


def _parse_send_at(value: str | None) -> datetime | None | str:
    """The UTC time for a local "2026-12-01T09:30" in the staff member's zone; None for now; an
    error message for nonsense or the past."""
    if not value:
        return None
    try:
        local = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        return _("Use a date and time like 2026-12-01 09:30.")
    zone = ZoneInfo(current_staff().timezone)
    when = local.replace(tzinfo=zone).astimezone(UTC)
    if when < utcnow() - timedelta(minutes=1):
        return _(
            "This time has passed. Choose a time in the future, or leave it empty to send now."
        )
    return when


def _action_campaign_problem(mailing: Mailing) -> str | None:
    """Why the campaign merge fields would give recipients an empty text or a dead link."""
    used = any(
        name in ("campaign_title", "action_link")
        for version in mailing.versions
        for text in (version.subject, version.body_markdown)
        for name, _fallback in _merge_fields_in(text)
    )
    if not used:
        return None
    campaign = mailing.action_campaign
    if campaign is None:
        return _("The text uses the campaign's title or link: choose the campaign first.")
    if campaign.status != CampaignStatus.LIVE:
        return _("The campaign of the action link is not live: its page would not take signatures.")
    return None


def _merge_fields_in(text: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in MERGE_FIELD.finditer(text)]


def _state_change(mailing: Mailing, action: str, done: bool, message: str):  # noqa: ANN202
    if done:
        audit(
            "mailing.state_changed",
            target=mailing,
            detail={"action": action, "status": str(mailing.status)},
        )
        db.session.commit()
        flash(str(message), "success")
    else:
        flash(
            _(
                "That is not possible while the mailing is %(status)s.",
                status=status_label(mailing.status),
            ),
            "error",
        )
    return redirect(url_for(".show", mailing_id=mailing.id))


@bp.route("/<int:mailing_id>/schedule", methods=["POST"])
@staff_required(SEND)
def schedule(mailing_id: int):  # noqa: ANN201
    mailing = _mailing_or_404(mailing_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        abort(400)
    when = _parse_send_at(form.send_at.data)
    if isinstance(when, str):
        flash(when, "error")
        return redirect(url_for(".show", mailing_id=mailing.id))
    if mailing.version_for(mailing.default_locale) is None:
        flash(_("Write the default language's version first."), "error")
        return redirect(url_for(".show", mailing_id=mailing.id))
    if problem := _action_campaign_problem(mailing):
        flash(problem, "error")
        return redirect(url_for(".show", mailing_id=mailing.id))
    if count_recipients(Audience.from_dict(mailing.audience)) == 0:
        flash(_("Nobody would receive this mailing: widen the audience first."), "error")
        return redirect(url_for(".show", mailing_id=mailing.id))
    done = sending.schedule(mailing, when)
    return _state_change(mailing, "schedule", done, _("Scheduled."))


def _control(action: str, message: str):  # noqa: ANN202
    def view(mailing_id: int):  # noqa: ANN202
        mailing = _mailing_or_404(mailing_id)
        done = getattr(sending, action)(mailing)
        if done and action == "resume":
            from workers.mailings import start_batches

            start_batches(mailing.id)
        return _state_change(mailing, action, done, message)

    view.__name__ = action
    return view


for _action, _message in (
    ("unschedule", _l("Back to draft.")),
    ("pause", _l("Paused.")),
    ("resume", _l("Sending again.")),
    ("cancel", _l("Cancelled.")),
):
    bp.add_url_rule(
        f"/<int:mailing_id>/{_action}",
        endpoint=_action,
        view_func=staff_required(SEND)(_control(_action, _message)),
        methods=["POST"],
    )


STATUS_LABELS = {
    MailingStatus.DRAFT: _l("draft"),
    MailingStatus.SCHEDULED: _l("scheduled"),
    MailingStatus.SENDING: _l("sending"),
    MailingStatus.PAUSED: _l("paused"),
    MailingStatus.SENT: _l("sent"),
    MailingStatus.CANCELLED: _l("cancelled"),
}


def status_label(status: MailingStatus) -> str:
    return str(STATUS_LABELS[MailingStatus(status)])


def masked_address(email: str) -> str:
    """ "ana@example.org" as "a…@example.org": enough to tell failures apart and see a mistyped
    domain, without listing supporters' addresses on a staff page."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


@bp.app_context_processor
def mailing_helpers() -> dict[str, object]:
    return {"mailing_status_label": status_label, "masked_address": masked_address}
