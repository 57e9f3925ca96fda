"""Staff actions that send a mailing: a test to staff addresses, scheduling it, and pausing,
resuming or cancelling it. Sending and cancelling ask first, in numbers. Each change and its audit entry are one transaction; the batches and
tests are published after its commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from campaigns.audit.services import record as audit
from campaigns.campaign.models import CampaignStatus
from campaigns.core.db import utcnow
from campaigns.core.i18n import language_name
from campaigns.core.tasks import send_task
from campaigns.extensions import db
from campaigns.mailings import lifecycle
from campaigns.mailings.audience import Audience, count_recipients
from campaigns.mailings.batches import SEND_TEST_TASK
from campaigns.mailings.compose import MERGE_FIELD
from campaigns.mailings.forms import ScheduleForm, TestSendForm
from campaigns.mailings.models import Mailing
from campaigns.mailings.progress import mailing_progress
from campaigns.mailings.staff_views import mailing_or_404, status_label
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.confirmation import Question, ask, confirmed
from campaigns.staff.models import Capability, StaffUser
from campaigns.staff.templating import staff_datetime

bp = Blueprint("mailing_sending", __name__, url_prefix="/staff/mailings")
SEND = Capability.SEND_MAILINGS


def _back(mailing: Mailing) -> ResponseReturnValue:
    return redirect(url_for("staff_mailings.show", mailing_id=mailing.id))


@bp.route("/<int:mailing_id>/test", methods=["POST"])
@staff_required(SEND)
def test_send(mailing_id: int) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
    form = TestSendForm()
    form.locale.choices = [(v.locale, language_name(v.locale)) for v in mailing.versions]
    if not form.validate_on_submit():
        flash(_("Choose a language with a version to test."), "error")
        return _back(mailing)
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
        return _back(mailing)
    audit(
        "mailing.test_sent",
        target=mailing,
        detail={"to": sorted(wanted), "locale": form.locale.data},
    )
    db.session.commit()
    send_task(SEND_TEST_TASK, mailing.id, form.locale.data, sorted(wanted))
    flash(
        _("The test is on its way to %(addresses)s.", addresses=", ".join(sorted(wanted))),
        "success",
    )
    return _back(mailing)


# --- Schedule and control ----------------------------------------------------------------------


# Further ahead is a typing mistake (a year 2062 for 2026), not a plan.
MAX_SCHEDULE_AHEAD = timedelta(days=366)


def _parse_send_at(value: str | None) -> datetime | str | None:
    """The UTC time for a local "2026-12-01T09:30" in the staff member's zone; None for now; an
    error message for nonsense or the past."""
    if not value:
        return None
    try:
        local = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        return _("Use a date and time like 2026-12-01 09:30.")
    zone = ZoneInfo(current_staff().timezone)
    try:
        when = local.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # 0001-01-01 00:00 east of Greenwich is before year 1 in UTC
        when = None
    now = utcnow()
    if when is None or when < now - timedelta(minutes=1):
        return _(
            "This time has passed. Choose a time in the future, or leave it empty to send now."
        )
    if when > now + MAX_SCHEDULE_AHEAD:
        return _("Choose a time within the next year.")
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


def _state_change(mailing: Mailing, action: str, done: bool, message: str) -> ResponseReturnValue:
    """Audit and commit a change that was made, in one transaction; or say why it was not."""
    if done:
        audit(
            "mailing.state_changed",
            target=mailing,
            detail={"action": action, "status": str(mailing.status)},
        )
        db.session.commit()
        flash(str(message), "success")
    else:
        db.session.rollback()
        flash(
            _(
                "That is not possible while the mailing is %(status)s.",
                status=status_label(mailing.status),
            ),
            "error",
        )
    return _back(mailing)


@bp.route("/<int:mailing_id>/schedule", methods=["POST"])
@staff_required(SEND)
def schedule(mailing_id: int) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        abort(400)
    when = _parse_send_at(form.send_at.data)
    if isinstance(when, str):
        flash(when, "error")
        return _back(mailing)
    if mailing.version_for(mailing.default_locale) is None:
        flash(_("Write the default language's version first."), "error")
        return _back(mailing)
    if problem := _action_campaign_problem(mailing):
        flash(problem, "error")
        return _back(mailing)
    recipients = count_recipients(Audience.from_dict(mailing.audience))
    if recipients == 0:
        flash(_("Nobody would receive this mailing: widen the audience first."), "error")
        return _back(mailing)
    if not confirmed():
        return ask(_send_question(mailing, when, recipients, form.send_at.data or ""))
    done = lifecycle.schedule(mailing, when)
    if when is None:
        message = _("Sending has started.")
    else:
        message = _("Scheduled for %(when)s.", when=staff_datetime(when))
    return _state_change(mailing, "schedule", done, message)


def _send_question(
    mailing: Mailing, when: datetime | None, recipients: int, send_at: str
) -> Question:
    count = format_decimal(recipients)
    if when is None:
        consequence = ngettext(
            "This sends %(count)s email now.",
            "This sends %(count)s emails now.",
            recipients,
            count=count,
        )
    else:
        consequence = ngettext(
            "This sends %(count)s email on %(when)s.",
            "This sends %(count)s emails on %(when)s.",
            recipients,
            count=count,
            when=staff_datetime(when),
        )
    return Question(
        title=_("Send “%(name)s”?", name=mailing.name),
        consequences=[
            consequence,
            _("Until it starts you can take it back to draft; a sent email cannot be recalled."),
        ],
        button=_("Yes, send it now") if when is None else _("Yes, schedule it"),
        back_url=url_for("staff_mailings.show", mailing_id=mailing.id),
        carry={"send_at": send_at},
    )


@bp.route("/<int:mailing_id>/unschedule", methods=["POST"])
@staff_required(SEND)
def unschedule(mailing_id: int) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
    done = lifecycle.unschedule(mailing)
    return _state_change(mailing, "unschedule", done, _("Back to draft."))


@bp.route("/<int:mailing_id>/pause", methods=["POST"])
@staff_required(SEND)
def pause(mailing_id: int) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
    done = lifecycle.pause(mailing)
    return _state_change(mailing, "pause", done, _("Paused."))


@bp.route("/<int:mailing_id>/resume", methods=["POST"])
@staff_required(SEND)
def resume(mailing_id: int) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
    done = lifecycle.resume(mailing)
    response = _state_change(mailing, "resume", done, _("Sending again."))
    if done:
        lifecycle.start_batches(mailing.id)  # after the commit: the batches read the status
    return response


def _not_sent_yet(mailing: Mailing) -> int:
    """Emails of the mailing not handed over yet. Its recipient list is built as it sends, so
    until it is complete those still to be added are counted from the audience."""
    progress = mailing_progress(mailing)
    if mailing.audience_complete:
        return progress.by_status.get("queued", 0) + progress.by_status.get("sending", 0)
    return max(count_recipients(Audience.from_dict(mailing.audience)) - progress.done, 0)


@bp.route("/<int:mailing_id>/cancel", methods=["POST"])
@staff_required(SEND)
def cancel(mailing_id: int) -> ResponseReturnValue:
    mailing = mailing_or_404(mailing_id)
    if not confirmed() and mailing.status in lifecycle.CANCELLABLE:
        unsent = _not_sent_yet(mailing)
        return ask(
            Question(
                title=_("Cancel “%(name)s” for good?", name=mailing.name),
                consequences=[
                    ngettext(
                        "%(count)s email not sent yet will never be sent.",
                        "%(count)s emails not sent yet will never be sent.",
                        unsent,
                        count=format_decimal(unsent),
                    ),
                    _("A cancelled mailing cannot be sent again."),
                ],
                button=_("Yes, cancel the mailing"),
                back_url=url_for("staff_mailings.show", mailing_id=mailing.id),
                danger=True,
            )
        )
    done = lifecycle.cancel(mailing)
    return _state_change(mailing, "cancel", done, _("Cancelled."))
