"""The probes a load balancer or an orchestrator polls (`/healthz`, `/readyz`), and the staff
status page.

The probes sit outside the language prefixes, touch no session (so set no cookie), are not
rate-limited and are never cached. `/healthz` only says the process answers; `/readyz` says
whether it can serve (see `operations.readiness`), naming the failing checks and nothing else.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template
from flask.typing import ResponseReturnValue

from campaigns.core.db import utcnow
from campaigns.extensions import csrf
from campaigns.operations.checks import status_checks
from campaigns.operations.readiness import is_ready, readiness
from campaigns.operations.results import STATE_LABELS, worst
from campaigns.staff.auth import staff_required
from campaigns.staff.models import Capability

bp = Blueprint("operations", __name__)
csrf.exempt(bp)  # GET only; nothing here reads a form


def _uncached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    return _uncached(Response("ok\n", mimetype="text/plain"))


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    results = readiness()
    response = jsonify(
        status="ready" if is_ready(results) else "not ready",
        checks={result.name: str(result.state) for result in results},
    )
    response.status_code = 200 if is_ready(results) else 503
    return _uncached(response)


@bp.route("/staff/status")
@staff_required(Capability.VIEW_SYSTEM_STATUS)
def status() -> ResponseReturnValue:
    results = status_checks()
    return render_template(
        "operations/status.html",
        results=results,
        overall=STATE_LABELS[worst([result.state for result in results])],
        checked_at=utcnow(),
    )
