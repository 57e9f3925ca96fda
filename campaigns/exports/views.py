"""Exports (placeholder)."""

from __future__ import annotations

from flask import Blueprint

from campaigns.staff.auth import staff_required
from campaigns.staff.models import Capability

bp = Blueprint("exports", __name__, url_prefix="/staff/campaigns")


@bp.route("/<int:campaign_id>/export")
@staff_required(Capability.EXPORT)
def signatures(campaign_id: int):  # noqa: ANN201
    return "export"


@bp.route("/<int:campaign_id>/report")
@staff_required(Capability.EXPORT)
def delivery_report(campaign_id: int):  # noqa: ANN201
    return "report"
