"""Staff pages of a letter action's delivery: per-target and per-country statistics, and the
targets' answers as staff log them."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "letter_report", __name__, url_prefix="/staff/campaigns/<int:campaign_id>/letter/report"
)
