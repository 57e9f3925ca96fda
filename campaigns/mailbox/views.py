"""The mail catcher's messages (placeholder)."""

from __future__ import annotations

from flask import Blueprint

from campaigns.staff.auth import staff_required
from campaigns.staff.models import Capability

bp = Blueprint("mail_catcher", __name__, url_prefix="/staff/mail")


@bp.route("/")
@staff_required(Capability.READ_MAIL_CATCHER)
def index():  # noqa: ANN201
    return "mail"
