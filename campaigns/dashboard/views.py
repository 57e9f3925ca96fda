"""The campaign dashboard (placeholder)."""

from __future__ import annotations

from flask import Blueprint

from campaigns.staff.auth import staff_required
from campaigns.staff.models import Capability

bp = Blueprint("dashboard", __name__, url_prefix="/staff/campaigns")


@bp.route("/<int:campaign_id>/dashboard")
@staff_required(Capability.VIEW_CAMPAIGNS)
def campaign_dashboard(campaign_id: int):  # noqa: ANN201
    return "dashboard"
