"""The alert log for staff who send alerts: every alert and to whom, filtered by network and
topic, and one alert's page with its payload."""

from __future__ import annotations

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from campaigns.alerts import log
from campaigns.alerts.models import Topic
from campaigns.alerts.topics import TOPIC_NAMES
from campaigns.core.db import parse_id
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff.auth import staff_required
from campaigns.staff.models import Capability


def _filters() -> tuple[log.LogFilters, dict[str, str]]:
    """The filters from the query string, and a message per filter it could not read."""
    errors = {}
    filters = log.LogFilters()
    network = request.args.get("network", "")
    if network:
        filters.network_id = parse_id(network)
        if filters.network_id is None or db.session.get(Network, filters.network_id) is None:
            filters.network_id = None
            errors["network"] = _("Unknown network.")
    topic = request.args.get("topic", "")
    if topic:
        if topic in {t.value for t in Topic}:
            filters.topic = Topic(topic)
        else:
            errors["topic"] = _("Unknown topic.")
    return filters, errors


@staff_required(Capability.SEND_ALERTS)
def alert_log() -> ResponseReturnValue:
    filters, errors = _filters()
    entries, more = log.entries(filters, parse_id(request.args.get("before")))
    networks = db.session.scalars(select(Network).order_by(Network.name)).all()
    return (
        render_template(
            "alerts/log.html",
            entries=entries,
            more=more,
            next_before=entries[-1].alert.id if more else None,
            filters=filters,
            errors=errors,
            networks=networks,
            topics=[(t.value, str(TOPIC_NAMES[t])) for t in Topic],
        ),
        422 if errors else 200,
    )


@staff_required(Capability.SEND_ALERTS)
def alert_detail(alert_id: int) -> ResponseReturnValue:
    entry = log.entry(alert_id)
    if entry is None:
        abort(404)
    return render_template(
        "alerts/alert.html", entry=entry, payload=log.pretty(entry.alert.payload)
    )
