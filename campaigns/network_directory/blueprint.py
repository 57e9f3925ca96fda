"""The staff blueprint of the directory and who may do what on it.

Admins (MANAGE_NETWORKS) reach every network. A coordinator (EDIT_OWN_NETWORK) reaches their own
network only, and edits its profile, contacts and logo, never its slug, the sites that may embed
our forms, nor whether it is active: any other network answers 403, as a page they may not see.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, abort, current_app, make_response, request, url_for
from flask_babel import lazy_gettext as _l

from campaigns.campaign.lifecycle import status_label
from campaigns.extensions import db
from campaigns.lobbying.directory_forms import language_label
from campaigns.networks.models import Network
from campaigns.staff.auth import current_staff, forbidden
from campaigns.staff.models import Capability

bp = Blueprint("network_directory", __name__, url_prefix="/staff/networks")
MANAGE = Capability.MANAGE_NETWORKS
OWN = Capability.EDIT_OWN_NETWORK


class NetworkPage(NamedTuple):
    label: str
    href: str
    current: bool


# The pages about one network, in the order its menu lists them: (endpoint, label). Pages of
# other parts of the platform appear once their blueprint is registered and the person's role
# includes what the page declares it needs.
NETWORK_PAGES = [
    ("network_directory.network", _l("Profile")),
    ("network_directory.logo", _l("Logo")),
    ("network_directory.kit", _l("Attribution kit")),
    ("alerts.subscriptions", _l("Alert subscriptions")),
    ("webhooks.endpoints", _l("Webhooks")),
    ("shared_supporters.index", _l("Supporters who agreed to be contacted")),
]


def can_manage() -> bool:
    user = current_staff()
    return user is not None and user.can(MANAGE)


def network_or_403(network_id: int) -> Network:
    """The network, if the signed-in person may work on it (404 if there is none)."""
    network = db.get_or_404(Network, network_id)
    user = current_staff()
    if user is None or not (user.can(MANAGE) or (user.can(OWN) and user.network_id == network.id)):
        abort(make_response(*forbidden()))
    return network


def network_pages(network: Network) -> list[NetworkPage]:
    """The menu of the pages about `network` this person may open."""
    user = current_staff()
    pages = []
    for endpoint, label in NETWORK_PAGES:
        view = current_app.view_functions.get(endpoint)
        if view is None or user is None:
            continue
        needed = getattr(view, "staff_capability", None)
        if needed is not None and not user.can(needed):
            continue
        pages.append(
            NetworkPage(
                str(label),
                url_for(endpoint, network_id=network.id),
                request.endpoint == endpoint,
            )
        )
    return pages


@bp.app_context_processor
def _network_menu() -> dict[str, object]:
    # Application-wide: the other parts' pages about a network show the same menu.
    return {"network_pages": network_pages}


@bp.context_processor
def _labels() -> dict[str, object]:
    return {"language_label": language_label, "status_label": status_label}
