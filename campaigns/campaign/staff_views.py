"""Staff pages for campaigns (placeholder: the editor is being built)."""

from __future__ import annotations

from flask import Blueprint

from campaigns.staff.auth import staff_required
from campaigns.staff.models import Capability

bp = Blueprint("staff_campaigns", __name__, url_prefix="/staff/campaigns")


@bp.route("/")
@staff_required(Capability.VIEW_CAMPAIGNS)
def index():  # noqa: ANN201
    return "campaigns"
