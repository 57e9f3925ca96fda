from __future__ import annotations

from flask import Blueprint, abort, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from campaigns.core.db import utcnow
from campaigns.extensions import csrf
from campaigns.petitions.services import live_petition
from campaigns.petitions.tallies.services import current_tally

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

# Counts may be this many seconds old in a browser or a CDN; embeds poll them.
COUNTS_MAX_AGE = 30


@bp.errorhandler(HTTPException)
def json_error(error: HTTPException) -> ResponseReturnValue:
    """API clients get JSON errors, not the HTML error page."""
    response = jsonify(error=error.name, status=error.code)
    response.status_code = error.code or 500
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/petitions/<slug>/counts")
def petition_counts(slug: str) -> ResponseReturnValue:
    petition = live_petition(slug)
    if petition is None:
        abort(404)
    tally = current_tally(petition.id)
    response = jsonify(
        petition=slug,
        goal=petition.goal,
        total=tally.total,
        by_country=dict(tally.countries_by_count()),
        generated_at=utcnow().isoformat(timespec="seconds"),
    )
    response.headers["Cache-Control"] = f"public, max-age={COUNTS_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept-Encoding")
    return response
