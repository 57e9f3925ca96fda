"""Staff pages of a letter action: who receives it, what supporters may change, test or live."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("letter_action", __name__, url_prefix="/staff/campaigns/<int:campaign_id>/letter")
