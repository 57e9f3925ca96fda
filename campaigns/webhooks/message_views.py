"""An endpoint's page: its delivery log (every attempt, newest first) and what staff do from it:
send a test event, resend one message, resend every cancelled one."""

from __future__ import annotations

import math

from flask import abort, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select

from campaigns.core.db import parse_id
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.webhooks import delivery
from campaigns.webhooks.blueprint import back_url, bp, endpoint_or_404, network_page
from campaigns.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
)

PER_PAGE = 50


@bp.route("/<int:endpoint_id>/")
@network_page
def show(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = endpoint_or_404(network, endpoint_id)
    total = db.session.scalar(
        select(func.count())
        .select_from(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
    )
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(parse_id(request.args.get("page")) or 1, 1), pages)
    attempts = db.session.execute(
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.attempted_at.desc(), WebhookAttempt.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    counts = dict(
        db.session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .group_by(WebhookDelivery.status)
        ).all()
    )
    return render_template(
        "webhooks/show.html",
        network=network,
        endpoint=endpoint,
        may_send=delivery.may_send(endpoint),
        cancelled=counts.get(WebhookStatus.CANCELLED, 0),
        attempts=attempts,
        counts=[(status, counts[status]) for status in WebhookStatus if counts.get(status)],
        page=page,
        pages=pages,
        total=total,
    )


@bp.route("/<int:endpoint_id>/test", methods=["POST"])
@network_page
def send_test(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = endpoint_or_404(network, endpoint_id)
    if not network.is_active:
        return _network_inactive(network, endpoint)
    message_id = delivery.send_test(endpoint)
    db.session.commit()
    if message_id is None:
        flash(_("This endpoint is switched off: switch it on to send a test event."), "error")
    else:
        flash(
            _(
                "A test event (webhook-id %(id)s) is on its way. Its attempt appears below "
                "within moments: reload the page.",
                id=message_id,
            ),
            "success",
        )
    return redirect(back_url(network, endpoint), 303)


@bp.route("/<int:endpoint_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
@network_page
def resend(network: Network, endpoint_id: int, delivery_id: int) -> ResponseReturnValue:
    endpoint = endpoint_or_404(network, endpoint_id)
    message = db.session.get(WebhookDelivery, delivery_id)
    if message is None or message.endpoint_id != endpoint.id:
        abort(404)
    if not network.is_active:
        return _network_inactive(network, endpoint)
    if delivery.resend(message):
        db.session.commit()
        flash(
            _("The message %(id)s goes again, with the same webhook-id.", id=message.message_id),
            "success",
        )
    else:
        db.session.rollback()
        flash(
            _("Not resent: the message is being sent right now, or the endpoint is switched off."),
            "error",
        )
    return redirect(back_url(network, endpoint), 303)


@bp.route("/<int:endpoint_id>/resend-cancelled", methods=["POST"])
@network_page
def resend_cancelled(network: Network, endpoint_id: int) -> ResponseReturnValue:
    """Every cancelled message of the endpoint goes again: the only way back for those cancelled
    before their first try, which the delivery log (attempts only) does not list."""
    endpoint = endpoint_or_404(network, endpoint_id)
    if not network.is_active:
        return _network_inactive(network, endpoint)
    if not endpoint.is_active:
        flash(_("This endpoint is switched off: switch it on to resend its messages."), "error")
        return redirect(back_url(network, endpoint), 303)
    resent = delivery.resend_cancelled(endpoint)
    db.session.commit()
    if resent:
        flash(
            ngettext(
                "%(count)s cancelled message goes again, with the same webhook-id as before.",
                "%(count)s cancelled messages go again, each with the same webhook-id as before.",
                resent,
                count=format_decimal(resent),
            ),
            "success",
        )
    else:
        flash(_("Nothing to resend: no message to this endpoint is cancelled."), "info")
    return redirect(back_url(network, endpoint), 303)


def _network_inactive(network: Network, endpoint: WebhookEndpoint) -> ResponseReturnValue:
    message = _(
        "%(name)s is deactivated: nothing is sent to its endpoints until it is reactivated.",
        name=network.name,
    )
    flash(message, "error")
    return redirect(back_url(network, endpoint), 303)
