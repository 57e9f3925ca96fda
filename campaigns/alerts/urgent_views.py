"""Writing and sending an urgent action: the form, a preview in each language written, a
question that says how many networks it reaches and how, then the sending (an event: the
alerts themselves are made and sent by workers).

Every step posts the whole form again, so nothing typed is lost going back and forth, and the
form's one-time token, stored unique with the urgent action it sent (alerts.urgent), makes a
second press of "send" send nothing more, while a send whose commit failed can be sent again."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from campaigns.alerts import urgent
from campaigns.alerts.audience import Reach, reach
from campaigns.alerts.forms import UrgentActionForm, urgent_form
from campaigns.alerts.models import Topic
from campaigns.extensions import db
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.confirmation import confirmed
from campaigns.staff.models import Capability


def _form_page(form: UrgentActionForm) -> ResponseReturnValue:
    return (
        render_template("alerts/urgent_form.html", form=form),
        422 if form.errors else 200,
    )


def _consequences(found: Reach) -> list[str]:
    lines = [
        ngettext(
            "%(count)s member network receives it.",
            "%(count)s member networks receive it.",
            len(found.networks),
            count=format_decimal(len(found.networks)),
        ),
        " ".join(
            (
                ngettext(
                    "By email to %(count)s network,",
                    "By email to %(count)s networks,",
                    len(found.by_email),
                    count=format_decimal(len(found.by_email)),
                ),
                ngettext(
                    "%(count)s address in all, each in its network's language.",
                    "%(count)s addresses in all, each in its network's language.",
                    found.addresses,
                    count=format_decimal(found.addresses),
                ),
            )
        ),
        " ".join(
            (
                ngettext(
                    "By webhook to %(count)s network,",
                    "By webhook to %(count)s networks,",
                    len(found.by_webhook),
                    count=format_decimal(len(found.by_webhook)),
                ),
                ngettext(
                    "%(count)s endpoint in all.",
                    "%(count)s endpoints in all.",
                    found.endpoints,
                    count=format_decimal(found.endpoints),
                ),
            )
        ),
    ]
    if found.unreachable:
        lines.append(
            _(
                "Subscribed but without a contact or an endpoint, so not reached: %(names)s.",
                names=", ".join(found.unreachable),
            )
        )
    lines.append(_("A sent alert cannot be called back."))
    return lines


def _sent_already() -> ResponseReturnValue:
    flash(_("This urgent action was sent already: it was not sent again."), "info")
    return redirect(url_for("alerts.log", topic=Topic.URGENT_ACTION.value), 303)


@staff_required(Capability.SEND_ALERTS)
def new_urgent_action() -> ResponseReturnValue:
    form = urgent_form(urgent.campaign_choices())
    if request.method == "GET":
        form.once.data = uuid.uuid4().hex
        return _form_page(form)
    step = request.form.get("step", "preview")
    if step == "edit":  # back from the preview or the question: the form as it was
        return render_template("alerts/urgent_form.html", form=form)
    if not form.validate():
        return _form_page(form)
    found = reach(Topic.URGENT_ACTION)
    if step != "send" or not found.networks:
        return render_template(
            "alerts/urgent_preview.html",
            form=form,
            reach=found,
            consequences=_consequences(found),
        )
    if not confirmed():
        return render_template(
            "alerts/urgent_confirm.html",
            form=form,
            reach=found,
            consequences=_consequences(found),
        )
    once = form.once.data or ""
    if urgent.sent_already(once):
        return _sent_already()
    try:
        urgent.publish(form, current_staff(), found)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not urgent.sent_already(once):
            raise
        return _sent_already()  # the same form, pressed twice at once: the other press sent it
    flash(
        ngettext(
            "The urgent action is on its way to %(count)s network. Its alert appears below "
            "within moments.",
            "The urgent action is on its way to %(count)s networks. Their alerts appear below "
            "within moments.",
            len(found.networks),
            count=format_decimal(len(found.networks)),
        ),
        "success",
    )
    return redirect(url_for("alerts.log", topic=Topic.URGENT_ACTION.value), 303)
