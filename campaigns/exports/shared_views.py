"""Staff pages of a member network's shared supporters: the list and its CSV, one row per person
(email address) in both, both audited.

Who may look: a network's own coordinators (their network only, and only while it is an active
member: the consent named "a member network"), and admins, for any network (they answer for
the platform and its data requests). Campaigners may not, although they export every signature
already: this list exists because a supporter agreed to be contacted by ONE network, and it is
that network's to use. Every other role stays counts-only.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from campaigns.audit.services import record
from campaigns.core.db import parse_id, utcnow
from campaigns.exports.shared import (
    count_people,
    csv_chunks,
    export_filename,
    shared_page,
    stored_wordings,
)
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.consent import network_wording
from campaigns.staff.auth import current_staff, forbidden, staff_required
from campaigns.staff.models import Capability, StaffUser

bp = Blueprint(
    "shared_supporters", __name__, url_prefix="/staff/networks/<int:network_id>/supporters"
)
VIEW = Capability.VIEW_SHARED_SUPPORTERS
PER_PAGE = 100
MAX_ID = 2**31 - 1  # networks.id is an INTEGER


def _network_for(user: StaffUser, network_id: int) -> Network:
    """The network whose list `user` asks for, or a 403 page: a person who may not manage every
    network sees only their own (a coordinator without a network: none), and a 403 says nothing
    about whether another id exists."""
    sees_all = user.can(Capability.MANAGE_NETWORKS)
    if not sees_all and (user.network_id is None or user.network_id != network_id):
        abort(make_response(forbidden()))
    if network_id > MAX_ID:  # no such row, and PostgreSQL would refuse the number outright
        abort(404)
    network = db.get_or_404(Network, network_id)
    if not sees_all and not network.is_active:
        abort(make_response(forbidden()))
    return network


@bp.route("")
@staff_required(VIEW)
def index(network_id: int) -> ResponseReturnValue:
    network = _network_for(current_staff(), network_id)
    locale = str(get_locale())
    total = count_people(network.id)
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(parse_id(request.args.get("page")) or 1, 1), pages)
    supporters = shared_page(network.id, page, PER_PAGE, locale)
    # Seeing names and addresses is recorded, like every list of supporters' data.
    record(
        "shared_supporters.viewed",
        target=network,
        detail={"network_id": network.id, "page": page, "rows": len(supporters)},
    )
    db.session.commit()
    return render_template(
        "exports/shared.html",
        network=network,
        wording=network_wording(network.name, locale),
        wordings=stored_wordings(network.id),
        supporters=supporters,
        total=total,
        page=page,
        pages=pages,
        first=(page - 1) * PER_PAGE + 1,
        last=(page - 1) * PER_PAGE + len(supporters),
        network_url=_network_page_url(network.id),
    )


def _network_page_url(network_id: int) -> str | None:
    """The network's own staff page (the directory's), for the way back, where there is one."""
    if "network_directory.network" not in current_app.view_functions:
        return None
    return url_for("network_directory.network", network_id=network_id)


@bp.route("/export", methods=["POST"])
@staff_required(VIEW)
def export(network_id: int) -> ResponseReturnValue:
    """The whole list as CSV, streamed. A POST (with its CSRF token): a download that writes
    to the audit log is not a link anything may follow."""
    network = _network_for(current_staff(), network_id)
    # Recorded (and committed) before the first byte leaves: a download cut short still shows.
    record(
        "shared_supporters.exported",
        target=network,
        detail={"network_id": network.id, "rows": count_people(network.id)},
    )
    db.session.commit()
    chunks = csv_chunks(network.id, str(get_locale()))
    filename = export_filename(network.slug, utcnow())
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
