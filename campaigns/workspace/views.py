"""The staff home page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from campaigns.editor.common import editor_helpers
from campaigns.staff.auth import current_staff, staff_required
from campaigns.workspace.attention import needs_attention

bp = Blueprint("workspace", __name__, url_prefix="/staff")
bp.context_processor(editor_helpers)  # status and language labels, as the campaign pages say them


@bp.route("/")
@staff_required()
def home() -> ResponseReturnValue:
    return render_template("workspace/home.html", attention=needs_attention(current_staff()))
