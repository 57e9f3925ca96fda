"""Staff pages of a network's webhook endpoints: the list, adding one (its secret shown once),
the secret's rotation, switching off and on, and deleting. Each endpoint's page, with its
delivery log, "send a test event" and "resend", is in message_views.

Admins (MANAGE_NETWORKS) reach every network's endpoints; a coordinator (EDIT_OWN_NETWORK) only
their own network's, and another network's pages do not exist for them (404).

Outside the form that adds it, an endpoint's address is shown redacted (`endpoints.redacted_url`,
the `redacted_url` filter in templates), in the audit log too: its query string may hold a token.
"""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, url_for
from flask import session as browser_session
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select

from campaigns.audit.services import record as audit
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff.confirmation import Question, ask, confirmed
from campaigns.webhooks import (
    endpoints,
    message_views,  # noqa: F401 - its routes join the blueprint
)
from campaigns.webhooks.blueprint import back_url, bp, endpoint_or_404, network_page
from campaigns.webhooks.forms import EndpointForm
from campaigns.webhooks.models import WebhookAttempt, WebhookEndpoint

__all__ = ["bp"]

# For every template (the alert pages list endpoints too), not only this blueprint's.
bp.add_app_template_filter(endpoints.redacted_url, "redacted_url")

RECENT_ATTEMPTS = 3
# The page that shows a new secret may be opened once, within this many seconds of its making.
REVEAL_KEY = "webhook_secret_reveal"
REVEAL_SECONDS = 300


def _shown(endpoint: WebhookEndpoint) -> str:
    """The address as messages and the audit log give it: redacted (see the module's doc)."""
    return endpoints.redacted_url(endpoint.url)


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
            detail={"network_id": network.id, "url": _shown(endpoint)},
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
    endpoint = endpoint_or_404(network, endpoint_id)
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


@bp.route("/<int:endpoint_id>/rotate", methods=["POST"])
@network_page
def rotate(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = endpoint_or_404(network, endpoint_id)
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
                title=_("Give %(url)s a new secret?", url=_shown(endpoint)),
                consequences=consequences,
                button=_("Yes, make a new secret"),
                back_url=back_url(network, endpoint),
            )
        )
    endpoints.rotate_secret(endpoint)
    audit(
        "webhook_endpoint.secret_rotated",
        target=endpoint,
        detail={"network_id": network.id, "url": _shown(endpoint)},
    )
    db.session.commit()
    _allow_reveal(endpoint)
    return redirect(url_for(".secret", network_id=network.id, endpoint_id=endpoint.id), 303)


@bp.route("/<int:endpoint_id>/disable", methods=["POST"])
@network_page
def disable(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = endpoint_or_404(network, endpoint_id)
    if not endpoint.is_active:
        flash(_("Nothing to change: it was already so."), "info")
        return redirect(back_url(network, endpoint), 303)
    cancelled = endpoints.disable(endpoint, endpoints.STAFF)
    audit(
        "webhook_endpoint.state_changed",
        target=endpoint,
        detail={"network_id": network.id, "url": _shown(endpoint), "active": False},
    )
    db.session.commit()
    flash(
        ngettext(
            "Switched off: no message goes to %(url)s until it is switched on again "
            "(%(num)s waiting message cancelled).",
            "Switched off: no message goes to %(url)s until it is switched on again "
            "(%(num)s waiting messages cancelled).",
            cancelled,  # flask_babel passes it on as %(num)s
            url=_shown(endpoint),
        ),
        "success",
    )
    return redirect(back_url(network, endpoint), 303)


@bp.route("/<int:endpoint_id>/enable", methods=["POST"])
@network_page
def enable(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = endpoint_or_404(network, endpoint_id)
    if endpoint.is_active:
        flash(_("Nothing to change: it was already so."), "info")
        return redirect(back_url(network, endpoint), 303)
    detail = {"network_id": network.id, "url": _shown(endpoint), "active": True}
    detail["was_disabled_for"] = endpoint.disabled_reason
    endpoints.enable(endpoint)
    audit("webhook_endpoint.state_changed", target=endpoint, detail=detail)
    db.session.commit()
    flash(_("Switched on: new messages go to %(url)s again.", url=_shown(endpoint)), "success")
    return redirect(back_url(network, endpoint), 303)


@bp.route("/<int:endpoint_id>/delete", methods=["POST"])
@network_page
def delete(network: Network, endpoint_id: int) -> ResponseReturnValue:
    endpoint = endpoint_or_404(network, endpoint_id)
    if not confirmed():
        attempts = db.session.scalar(
            select(func.count())
            .select_from(WebhookAttempt)
            .where(WebhookAttempt.endpoint_id == endpoint.id)
        )
        return ask(
            Question(
                title=_("Delete the endpoint %(url)s?", url=_shown(endpoint)),
                consequences=[
                    _("No message goes to this address any more; waiting ones are dropped."),
                    _(
                        "Its delivery log (%(count)s attempts) is deleted with it.",
                        count=format_decimal(attempts),
                    ),
                    _("To stop messages for a while instead, switch it off."),
                ],
                button=_("Yes, delete it"),
                back_url=back_url(network, endpoint),
                danger=True,
            )
        )
    detail = {"network_id": network.id, "url": _shown(endpoint)}
    audit("webhook_endpoint.deleted", target=endpoint, detail=detail)
    endpoints.delete_endpoint(endpoint)
    db.session.commit()
    flash(_("The endpoint %(url)s was deleted.", url=detail["url"]), "success")
    return redirect(back_url(network), 303)
