"""The blueprint of the staff pages of a network's webhook endpoints, and what its pages share:
who may open them, the endpoint in the URL, where an action returns to, the labels of a
message's status."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, abort, current_app, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff.auth import current_staff, forbidden, staff_required
from campaigns.staff.models import Capability
from campaigns.webhooks.models import WebhookEndpoint, WebhookStatus

bp = Blueprint("webhooks", __name__, url_prefix="/staff/networks/<int:network_id>/webhooks")


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


def endpoint_or_404(network: Network, endpoint_id: int) -> WebhookEndpoint:
    """The network's endpoint, or 404 (also for another network's endpoint seen through it)."""
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


def back_url(network: Network, endpoint: WebhookEndpoint | None = None) -> str:
    """Where an action returns to: the endpoint's page, or the list of endpoints."""
    if endpoint is None:
        return url_for(".endpoints", network_id=network.id)
    return url_for(".show", network_id=network.id, endpoint_id=endpoint.id)
