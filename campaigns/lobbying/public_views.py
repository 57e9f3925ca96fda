"""The public letter journey: write, check your email, confirm (or "it wasn't me"), thank you;
and each action's public scorecard."""

from __future__ import annotations

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue

bp = Blueprint("lobbying", __name__, url_prefix="/<lang>")


@bp.route("/write/<slug>", methods=["GET", "POST"])
def write(slug: str) -> ResponseReturnValue:
    abort(404)
