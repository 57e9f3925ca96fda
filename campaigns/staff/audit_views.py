"""The audit log page: admins browse and filter it. There is no way to change an entry."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.audit.models import AuditEntry
from campaigns.audit.services import ACTIONS
from campaigns.core.dates import day_error, parse_day
from campaigns.core.db import parse_id
from campaigns.extensions import db
from campaigns.staff.auth import staff_required
from campaigns.staff.models import Capability, StaffUser

bp = Blueprint("audit", __name__, url_prefix="/staff/audit")

PAGE_SIZE = 50


def _parse_day(value: str | None) -> datetime | None:
    day = parse_day(value)
    return None if day is None else datetime.combine(day, time(), UTC)


@bp.route("/")
@staff_required(Capability.READ_AUDIT_LOG)
def log() -> ResponseReturnValue:
    args = request.args
    errors: dict[str, str] = {}
    query = select(AuditEntry).options(selectinload(AuditEntry.actor))

    action = args.get("action", "")
    if action:
        if action in ACTIONS:
            query = query.where(AuditEntry.action == action)
        else:
            errors["action"] = _("Unknown action.")
    actor_id = args.get("actor", "")
    if actor_id:
        if parse_id(actor_id) is not None:
            query = query.where(AuditEntry.actor_id == parse_id(actor_id))
        else:
            errors["actor"] = _("Unknown staff member.")
    for name, compare in (("from", "ge"), ("to", "lt")):
        raw = args.get(name, "")
        if not raw:
            continue
        day = _parse_day(raw)
        if day is None:
            errors[name] = str(day_error())
        elif compare == "ge":
            query = query.where(AuditEntry.occurred_at >= day)
        else:
            query = query.where(AuditEntry.occurred_at < day + timedelta(days=1))
    # Keyset pagination: "older than entry N" stays right while new entries arrive.
    before = parse_id(args.get("before"))
    if before is not None:
        query = query.where(AuditEntry.id < before)

    entries = db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE + 1)).all()
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    staff = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    filters = {k: v for k, v in args.items() if k in ("action", "actor", "from", "to") and v}
    return render_template(
        "audit/log.html",
        entries=entries,
        more=more,
        next_before=entries[-1].id if more else None,
        actions=ACTIONS,
        staff=staff,
        filters=filters,
        errors=errors,
    ), 422 if errors else 200
