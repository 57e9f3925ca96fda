"""Each letter action's public scorecard: who was written to, how many letters each received,
who answered and how."""

from __future__ import annotations

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue

bp = Blueprint("scorecard", __name__, url_prefix="/<lang>")


@bp.route("/write/<slug>/scorecard")
def show(slug: str) -> ResponseReturnValue:
    abort(404)
