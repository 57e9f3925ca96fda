"""Staff pages for mailings: the list, composing, the overview with its live progress, and the
preview. Sending them (tests, scheduling, pause, resume, cancel) is in sending_views.py."""

from __future__ import annotations

import math

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
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from campaigns.audit.services import record as audit
from campaigns.campaign.models import Campaign
from campaigns.core.i18n import language_name
from campaigns.core.mail import first_name
from campaigns.extensions import db
from campaigns.mailings.audience import Audience, count_recipients
from campaigns.mailings.compose import EXAMPLE_NAME, merge_examples, merge_values, prepare
from campaigns.mailings.forms import (
    AudienceForm,
    MailingForm,
    ScheduleForm,
    TestSendForm,
    fill_audience_choices,
    fill_choices,
    load,
    mailing_form,
    save,
    versions_valid,
)
from campaigns.mailings.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingStatus,
    Suppression,
    SuppressionReason,
)
from campaigns.mailings.progress import Progress, mailing_progress
from campaigns.networks.models import Network
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.listing import Column, Listing
from campaigns.staff.models import Capability

bp = Blueprint("staff_mailings", __name__, url_prefix="/staff/mailings")
SEND = Capability.SEND_MAILINGS


def mailing_or_404(mailing_id: int) -> Mailing:
    return db.get_or_404(Mailing, mailing_id)


@bp.route("/")
@staff_required(SEND)
def index() -> ResponseReturnValue:
    mailings = db.session.scalars(select(Mailing).order_by(Mailing.id.desc())).all()
    counts = dict(
        db.session.execute(
            select(Delivery.mailing_id, func.count())
            .where(Delivery.status == DeliveryStatus.SENT)
            .group_by(Delivery.mailing_id)
        ).all()
    )
    statuses = list(MailingStatus)
    listing = Listing(
        {
            "name": Column(lambda m: m.name),
            "status": Column(lambda m: statuses.index(MailingStatus(m.status))),
            "scheduled": Column(lambda m: m.scheduled_at, descending_first=True),
            "sent": Column(lambda m: counts.get(m.id, 0), descending_first=True),
        },
        text=lambda m: (m.name, status_badge(m.status)),
    )
    return render_template(
        "mailings/staff/index.html", mailings=listing.apply(mailings), listing=listing, sent=counts
    )


# --- Compose ---------------------------------------------------------------------------------


def _compose(mailing: Mailing | None) -> ResponseReturnValue:
    if mailing is not None and mailing.status != MailingStatus.DRAFT:
        flash(_("Only a draft can be edited. Unschedule it first."), "error")
        return redirect(url_for(".show", mailing_id=mailing.id))
    form = mailing_form()
    fill_choices(form)
    if request.method == "GET" and mailing is not None:
        load(form, mailing)
    # Both checks run on every save, so that one save reports every problem.
    if form.is_submitted() and all([form.validate(), versions_valid(form)]):
        new = mailing is None
        if new:
            mailing = Mailing(created_by_id=current_staff().id, status=MailingStatus.DRAFT)
            db.session.add(mailing)
        save(form, mailing)
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
            recipients_text=recipients_text(count_recipients(_audience_as_far_as_valid(form))),
            merge_examples=merge_examples(_chosen_campaign(form), _chosen_locale(form)),
            example_name=EXAMPLE_NAME,
            languages=current_app.config["LANGUAGES"],
        ),
        422 if form.errors else 200,
    )


def _audience_as_far_as_valid(form: AudienceForm) -> Audience:
    """The audience chosen so far, leaving out any value that is not a choice (a network deleted
    meanwhile): its field shows the error, and the count covers the rest."""
    lists = ("campaign_ids", "countries", "locales", "network_ids")
    known = {name: {value for value, _label in form[name].choices} for name in lists}
    return Audience(
        **{name: [v for v in form[name].data or [] if v in known[name]] for name in lists}
    )


def _chosen_campaign(form: MailingForm) -> Campaign | None:
    if form.action_campaign_id.errors:  # not one of the choices (the field says so)
        return None
    try:
        return db.session.get(Campaign, int(form.action_campaign_id.data or ""))
    except ValueError:  # none chosen, or not a number
        return None


def _chosen_locale(form: MailingForm) -> str:
    languages = current_app.config["LANGUAGES"]
    return form.default_locale.data if form.default_locale.data in languages else languages[0]


def recipients_text(count: int) -> str:
    return ngettext(
        "%(number)s person would receive it now.",
        "%(number)s people would receive it now.",
        count,
        number=format_decimal(count),
    )


@bp.route("/recipients.json")
@staff_required(SEND)
def recipients_json() -> ResponseReturnValue:
    """The live count of the compose page: the audience chosen so far, as a query string."""
    form = AudienceForm(formdata=request.args, meta={"csrf": False})
    fill_audience_choices(form)
    if not form.validate():
        return jsonify(errors=form.errors), 400
    count = count_recipients(form.audience())
    return jsonify(count=count, text=recipients_text(count))


@bp.route("/new", methods=["GET", "POST"])
@staff_required(SEND)
def new() -> ResponseReturnValue:
    return _compose(None)


@bp.route("/<int:mailing_id>/edit", methods=["GET", "POST"])
@staff_required(SEND)
def edit(mailing_id: int) -> ResponseReturnValue:
    return _compose(mailing_or_404(mailing_id))


# --- Overview and preview --------------------------------------------------------------------


def _stats(mailing: Mailing) -> dict[str, object]:
    progress = mailing_progress(mailing)
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
def show(mailing_id: int) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
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
def progress_json(mailing_id: int) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
    progress = mailing_progress(mailing)
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


def eta_text(progress: Progress) -> str:
    """ ", finished in about N min" while it sends at a measurable rate, else nothing."""
    if not progress.finished_in_seconds:
        return ""
    minutes = math.ceil(progress.finished_in_seconds / 60)
    return ", " + _("finished in about %(minutes)d min", minutes=minutes)


@bp.route("/<int:mailing_id>/preview/<locale>")
@staff_required(SEND)
def preview(mailing_id: int, locale: str) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
    version = next((v for v in mailing.versions if v.locale == locale), None)
    if version is None:
        abort(404)
    prepared = prepare(version.locale, version.subject, version.body_markdown)
    values = merge_values(mailing, locale, first_name=first_name(current_staff().name))
    subject, text, html = prepared.render(values)
    return render_template(
        "mailings/staff/preview.html",
        mailing=mailing,
        version=version,
        subject=subject,
        text=text,
        html=html,
    )


STATUS_LABELS = {
    MailingStatus.DRAFT: _l("draft"),
    MailingStatus.SCHEDULED: _l("scheduled"),
    MailingStatus.SENDING: _l("sending"),
    MailingStatus.PAUSED: _l("paused"),
    MailingStatus.SENT: _l("sent"),
    MailingStatus.CANCELLED: _l("cancelled"),
}


# As a badge, capitalised like a campaign's ("Live").
STATUS_BADGES = {
    MailingStatus.DRAFT: _l("Draft"),
    MailingStatus.SCHEDULED: _l("Scheduled"),
    MailingStatus.SENDING: _l("Sending"),
    MailingStatus.PAUSED: _l("Paused"),
    MailingStatus.SENT: _l("Sent"),
    MailingStatus.CANCELLED: _l("Cancelled"),
}


def status_label(status: MailingStatus) -> str:
    """The status inside a sentence ("while the mailing is paused")."""
    return str(STATUS_LABELS[MailingStatus(status)])


def status_badge(status: MailingStatus) -> str:
    return str(STATUS_BADGES[MailingStatus(status)])


def masked_address(email: str) -> str:
    """ "ana@example.org" as "a…@example.org": enough to tell failures apart and see a mistyped
    domain, without listing supporters' addresses on a staff page."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


@bp.app_context_processor
def mailing_helpers() -> dict[str, object]:
    return {"mailing_status_badge": status_badge, "masked_address": masked_address}
