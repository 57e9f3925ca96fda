"""Staff pages of a network's webhook endpoints: the list, adding one (its secret shown once),
the secret's rotation, switching off and on, deleting, and each endpoint's delivery log with
"send a test event" and "resend".

Admins (MANAGE_NETWORKS) reach every network's endpoints; a coordinator (EDIT_OWN_NETWORK) only
their own network's, and another network's pages do not exist for them (404).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as browser_session
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from campaigns.audit.services import record as audit
from campaigns.core.db import parse_id, utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff.auth import current_staff, forbidden, staff_required
from campaigns.staff.confirmation import Question, ask, confirmed
from campaigns.staff.models import Capability
from campaigns.webhooks import delivery, endpoints
from campaigns.webhooks.forms import EndpointForm
from campaigns.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
)

bp = Blueprint("webhooks", __name__, url_prefix="/staff/networks/<int:network_id>/webhooks")
PER_PAGE = 50
RECENT_ATTEMPTS = 3
# The page that shows a new secret may be opened once, within this many seconds of its making.
REVEAL_KEY = "webhook_secret_reveal"
REVEAL_SECONDS = 300


def network_page(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Signed in, allowed to manage this network's endpoints, and the network exists."""

    @functools.wraps(view)
    def guarded(network_id: int, **kwargs: object) -> ResponseReturnValue:
        user = current_staff()
        manages_all = user.can(Capability.MANAGE_NETWORKS)
        if not manages_all and not user.can(Capability.EDIT_OWN_NETWORK):
            return forbidden()
        if not manages_all and user.network_id != network_id:
            abort(404)  # another network's pages: nothing to see, not even that they exist
        network = db.session.get(Network, network_id)
        if network is None:
            abort(404)
        return view(network, **kwargs)

    wrapped = staff_required(None)(guarded)
    # The least a role needs to reach these pages (for the route-by-route access test).
    wrapped.staff_capability = Capability.EDIT_OWN_NETWORK
    return wrapped


def _endpoint(network: Network, endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.network_id != network.id:
        abort(404)
    return endpoint


def _network_home(network: Network) -> str | None:
    """The network's own staff page, where the directory of networks provides one."""
    if "network_directory.network" not in current_app.view_functions:
        return None
    try:
        return url_for("network_directory.network", network_id=network.id)
    except BuildError:
        return None


@bp.context_processor
def page_helpers() -> dict[str, object]:
    return {"network_home": _network_home, "delivery_status": _status_label}


def _status_label(status: str) -> str:
    labels = {
        WebhookStatus.PENDING: _("Waiting to be sent"),
        WebhookStatus.SENDING: _("Being sent"),
        WebhookStatus.DELIVERED: _("Delivered"),
        WebhookStatus.FAILED: _("Failed"),
        WebhookStatus.CANCELLED: _("Cancelled"),
    }
    return labels[WebhookStatus(status)]


def _back(network: Network, endpoint: WebhookEndpoint | None = None) -> str:
    if endpoint is None:
        return url_for(".endpoints", network_id=network.id)
    return url_for(".show", network_id=network.id, endpoint_id=endpoint.id)


# -- the list and adding --------------------------------------------------------------------------


@bp.route("/", endpoint="endpoints")
@network_page
def endpoints_list(network: Network) -> ResponseReturnValue:
    found = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.network_id == network.id)
        .order_by(WebhookEndpoint.id)
    ).all()
    recent = {
        endpoint.id: db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.endpoint_id == endpoint.id)
            .order_by(WebhookAttempt.attempted_at.desc(), WebhookAttempt.id.desc())
            .limit(RECENT_ATTEMPTS)
        ).all()
        for endpoint in found
    }
    return render_template("webhooks/index.html", network=network, endpoints=found, recent=recent)


@bp.route("/new", methods=["GET", "POST"])
@network_page
def new(network: Network) -> ResponseReturnValue:
    form = EndpointForm(network.id)
    if form.validate_on_submit():
        endpoint = endpoints.create_endpoint(network, form.url.data, form.description.data or "")
        audit(
            "webhook_endpoint.created",
            target=endpoint,
            detail={"network_id": network.id, "url": endpoint.url},
        )
        db.session.commit()
        _allow_reveal(endpoint)
        return redirect(url_for(".secret", network_id=network.id, endpoint_id=endpoint.id), 303)
    return (
        render_template("webhooks/form.html", network=network, form=form),
        422 if form.errors else 200,
    )


def _allow_reveal(endpoint: WebhookEndpoint) -> None:
    # Only the id and a time: the secret itself never goes into the (readable) session cookie.
    browser_session[REVEAL_KEY] = {"id": endpoint.id, "until": int(time.time()) + REVEAL_SECONDS}


@bp.route("/<int:endpoint_id>/secret")
@network_page
def secret(network: Network, endpoint_id: int) -> ResponseReturnValue:
    """The endpoint's secret, once: right after it was made or rotated, and never again."""
    endpoint = _endpoint(network, endpoint_id)
    reveal = browser_session.pop(REVEAL_KEY, None) or {}
    shown = reveal.get("id") == endpoint.id and reveal.get("until", 0) >= time.time()
    overlap_until = endpoint.previous_secret_until
    if overlap_until is not None and overlap_until <= utcnow():
        overlap_until = None
    response = current_app.make_response(
        render_template(
            "webhooks/secret.html",
            network=network,
            endpoint=endpoint,
            secret=endpoint.secret if shown else None,
            overlap_until=overlap_until,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# -- one endpoint: its log and what staff do with it ------------------------------------------------


@bp.route("/<int:endpoint_id>/")
@network_page
def show(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(network, endpoint_id)
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
        attempts=attempts,
        counts=[(status, counts[status]) for status in WebhookStatus if counts.get(status)],
        page=page,
        pages=pages,
        total=total,
    )


@bp.route("/<int:endpoint_id>/test", methods=["POST"])
@network_page
def send_test(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(network, endpoint_id)
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
    return redirect(_back(network, endpoint), 303)


@bp.route("/<int:endpoint_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
@network_page
def resend(network: Network, endpoint_id: int, delivery_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(network, endpoint_id)
    message = db.session.get(WebhookDelivery, delivery_id)
    if message is None or message.endpoint_id != endpoint.id:
        abort(404)
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
    return redirect(_back(network, endpoint), 303)


@bp.route("/<int:endpoint_id>/rotate", methods=["POST"])
@network_page
def rotate(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(network, endpoint_id)
    overlap = current_app.config["WEBHOOK_SECRET_OVERLAP"]
    if not confirmed():
        consequences = [
            _("A new secret signs every message from now on. It is shown once, on the next page."),
            _(
                "For %(hours)s hours the current secret signs each message too, beside the new "
                "one: update the receiver within that time.",
                hours=format_decimal(round(overlap / 3600, 1)),
            ),
        ]
        if endpoint.previous_secret_until and endpoint.previous_secret_until > utcnow():
            consequences.append(
                _("The secret before the current one, which still signs too, stops at once.")
            )
        return ask(
            Question(
                title=_("Give %(url)s a new secret?", url=endpoint.url),
                consequences=consequences,
                button=_("Yes, make a new secret"),
                back_url=_back(network, endpoint),
            )
        )
    endpoints.rotate_secret(endpoint)
    audit(
        "webhook_endpoint.secret_rotated",
        target=endpoint,
        detail={"network_id": network.id, "url": endpoint.url},
    )
    db.session.commit()
    _allow_reveal(endpoint)
    return redirect(url_for(".secret", network_id=network.id, endpoint_id=endpoint.id), 303)


@bp.route("/<int:endpoint_id>/disable", methods=["POST"])
@network_page
def disable(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(network, endpoint_id)
    if not endpoint.is_active:
        flash(_("Nothing to change: it was already so."), "info")
        return redirect(_back(network, endpoint), 303)
    cancelled = endpoints.disable(endpoint, endpoints.STAFF)
    audit(
        "webhook_endpoint.state_changed",
        target=endpoint,
        detail={"network_id": network.id, "url": endpoint.url, "active": False},
    )
    db.session.commit()
    flash(
        _(
            "Switched off: no message goes to %(url)s until it is switched on again "
            "(%(count)s waiting messages cancelled).",
            url=endpoint.url,
            count=format_decimal(cancelled),
        ),
        "success",
    )
    return redirect(_back(network, endpoint), 303)


@bp.route("/<int:endpoint_id>/enable", methods=["POST"])
@network_page
def enable(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(network, endpoint_id)
    if endpoint.is_active:
        flash(_("Nothing to change: it was already so."), "info")
        return redirect(_back(network, endpoint), 303)
    detail = {"network_id": network.id, "url": endpoint.url, "active": True}
    detail["was_disabled_for"] = endpoint.disabled_reason
    endpoints.enable(endpoint)
    audit("webhook_endpoint.state_changed", target=endpoint, detail=detail)
    db.session.commit()
    flash(_("Switched on: new messages go to %(url)s again.", url=endpoint.url), "success")
    return redirect(_back(network, endpoint), 303)


@bp.route("/<int:endpoint_id>/delete", methods=["POST"])
@network_page
def delete(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(network, endpoint_id)
    if not confirmed():
        attempts = db.session.scalar(
            select(func.count())
            .select_from(WebhookAttempt)
            .where(WebhookAttempt.endpoint_id == endpoint.id)
        )
        return ask(
            Question(
                title=_("Delete the endpoint %(url)s?", url=endpoint.url),
                consequences=[
                    _("No message goes to this address any more; waiting ones are dropped."),
                    _(
                        "Its delivery log (%(count)s attempts) is deleted with it.",
                        count=format_decimal(attempts),
                    ),
                    _("To stop messages for a while instead, switch it off."),
                ],
                button=_("Yes, delete it"),
                back_url=_back(network, endpoint),
                danger=True,
            )
        )
    detail = {"network_id": network.id, "url": endpoint.url}
    audit("webhook_endpoint.deleted", target=endpoint, detail=detail)
    endpoints.delete_endpoint(endpoint)
    db.session.commit()
    flash(_("The endpoint %(url)s was deleted.", url=detail["url"]), "success")
    return redirect(_back(network), 303)
