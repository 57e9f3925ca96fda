"""The public letter journey: write, check your email, confirm (or "it wasn't me"), thank you;
and each action's public scorecard."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("lobbying", __name__, url_prefix="/<lang>")
