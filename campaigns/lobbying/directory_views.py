"""Staff pages of the directory of targets: browse, search, add and edit policymakers."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("targets", __name__, url_prefix="/staff/targets")
