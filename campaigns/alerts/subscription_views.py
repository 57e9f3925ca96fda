"""A network's alert subscriptions: which topics it receives, by email to its contacts and by
webhook to its endpoints. Admins see every network's; a coordinator only their own."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from campaigns.alerts import subscriptions
from campaigns.alerts.audience import active_endpoint_counts
from campaigns.alerts.forms import subscriptions_form
from campaigns.alerts.models import Channel, Topic
from campaigns.alerts.payloads import alert_locale
from campaigns.alerts.topics import CHANNEL_LABELS, TOPIC_LABELS
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff.auth import current_staff, forbidden, staff_required
from campaigns.staff.models import Capability


@staff_required(Capability.EDIT_OWN_NETWORK)
def network_subscriptions(network_id: int) -> ResponseReturnValue:
    # The coordinator of another network learns nothing, not even whether this one exists.
    if not subscriptions.may_change(current_staff(), network_id):
        return forbidden()
    network = db.get_or_404(Network, network_id)
    form = subscriptions_form(subscriptions.chosen(network.id))
    if form.validate_on_submit():
        try:
            added, removed = subscriptions.save(network, form.choices())
            db.session.commit()
        except IntegrityError:  # saved by someone else at the same moment
            db.session.rollback()
            flash(
                _("Someone else saved these alerts at the same time: here they are now."), "error"
            )
            return redirect(url_for("alerts.subscriptions", network_id=network_id), 303)
        if added or removed:
            flash(_("The alerts of %(network)s were saved.", network=network.name), "success")
        else:
            flash(_("Nothing was changed."), "info")
        return redirect(url_for("alerts.subscriptions", network_id=network.id), 303)
    endpoints = active_endpoint_counts([network.id]).get(network.id, 0)
    return (
        render_template(
            "alerts/subscriptions.html",
            network=network,
            form=form,
            topics=[(topic, str(TOPIC_LABELS[topic])) for topic in Topic],
            channels=[(channel, str(CHANNEL_LABELS[channel])) for channel in Channel],
            endpoints=endpoints,
            alert_language=alert_locale(network),
        ),
        422 if form.errors else 200,
    )
