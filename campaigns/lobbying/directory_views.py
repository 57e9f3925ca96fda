"""Staff pages of the directory of targets: browse, search, add and edit policymakers."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from campaigns.audit.services import record as audit
from campaigns.core.db import parse_id
from campaigns.core.i18n import country_name
from campaigns.extensions import db
from campaigns.lobbying.delivery import requeue_skipped, switch_digest
from campaigns.lobbying.directory import IMPORTED_FIELDS, sorted_seats
from campaigns.lobbying.directory_forms import (
    KIND_LABELS,
    TargetFilters,
    TargetForm,
    known_time_zones,
    language_label,
)
from campaigns.lobbying.models import (
    CommitteeRole,
    LetterDelivery,
    LetterDeliveryStatus,
    Target,
    TargetCommittee,
    TargetKind,
)
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.listing import Column, Listing
from campaigns.staff.models import Capability

bp = Blueprint("targets", __name__, url_prefix="/staff/targets")
VIEW = Capability.VIEW_TARGETS
EDIT = Capability.EDIT_TARGETS
PER_PAGE = 100

ROLE_LABELS = {
    CommitteeRole.CHAIR: _l("chair"),
    CommitteeRole.VICE_CHAIR: _l("vice-chair"),
    CommitteeRole.MEMBER: _l("member"),
    CommitteeRole.SUBSTITUTE: _l("substitute"),
}
DELIVERY_LABELS = {
    LetterDeliveryStatus.AWAITING_CONFIRMATION: _l("Awaiting the supporter's confirmation"),
    LetterDeliveryStatus.SCHEDULED: _l("Scheduled"),
    LetterDeliveryStatus.SENDING: _l("Sending"),
    LetterDeliveryStatus.SENT: _l("Sent"),
    LetterDeliveryStatus.IN_DIGEST: _l("Waiting for the daily digest"),
    LetterDeliveryStatus.BOUNCED: _l("Bounced"),
    LetterDeliveryStatus.FAILED: _l("Failed"),
    LetterDeliveryStatus.SKIPPED: _l("Skipped (left office or address bounced)"),
    LetterDeliveryStatus.CANCELLED: _l("Cancelled (letter withdrawn)"),
}


@bp.context_processor
def directory_helpers() -> dict[str, object]:
    return {
        "target_kind": lambda kind: str(KIND_LABELS[TargetKind(kind)]),
        "committee_role": lambda role: str(ROLE_LABELS[CommitteeRole(role)]),
        "language_label": language_label,
        "sorted_seats": sorted_seats,
    }


class TargetListing(Listing[Target]):
    """The shared search and sort, with links that keep the list's filters and pages."""

    def __init__(self, columns: dict[str, Column[Target]], text: Callable, filters: TargetFilters):
        super().__init__(columns, text)
        self.filters = filters
        self.page = self.pages = 1

    def url(self, **changes: object) -> str:
        args: dict[str, object] = dict(self.filters.args())
        if self.query:
            args["q"] = self.query
        if self.sort:
            args.update(sort=self.sort, order="desc" if self.descending else "asc")
        args.update(changes)
        return url_for("targets.index", **{key: value for key, value in args.items() if value})

    def sort_url(self, column: str) -> str:
        descending = (
            not self.descending if column == self.sort else self.columns[column].descending_first
        )
        return self.url(sort=column, order="desc" if descending else "asc")

    def page_url(self, page: int) -> str:
        return self.url(page=page if page > 1 else None)

    def paginate(self, rows: list[Target], page: int | None) -> list[Target]:
        self.pages = max(1, math.ceil(len(rows) / PER_PAGE))
        self.page = min(max(page or 1, 1), self.pages)
        start = (self.page - 1) * PER_PAGE
        self.first, self.last = start + 1, min(start + PER_PAGE, len(rows))
        return rows[start : start + PER_PAGE]


def _filtered(filters: TargetFilters) -> list[Target]:
    query = (
        select(Target)
        .options(selectinload(Target.committees))
        # EU-wide targets (the Commission, the agencies) first, then by country and name.
        .order_by(Target.country.is_not(None), Target.country, Target.name)
    )
    if filters.status != "all":
        query = query.where(Target.active.is_(filters.status == "active"))
    if filters.country:
        query = query.where(Target.country == filters.country)
    if filters.group:
        query = query.where(Target.political_group == filters.group)
    if filters.kind:
        query = query.where(Target.kind == filters.kind)
    if filters.committee:
        seats = select(TargetCommittee.target_id).where(
            TargetCommittee.committee == filters.committee
        )
        query = query.where(Target.id.in_(seats))
    return list(db.session.scalars(query))


@bp.route("/")
@staff_required(VIEW)
def index() -> ResponseReturnValue:
    groups = db.session.scalars(
        select(Target.political_group)
        .where(Target.political_group.is_not(None))
        .distinct()
        .order_by(Target.political_group)
    ).all()
    committees = db.session.scalars(
        select(TargetCommittee.committee).distinct().order_by(TargetCommittee.committee)
    ).all()
    filters = TargetFilters(request.args, list(groups), list(committees))
    listing = TargetListing(
        {
            "name": Column(lambda t: t.name),
            "kind": Column(lambda t: str(KIND_LABELS[TargetKind(t.kind)])),
            "country": Column(lambda t: country_name(t.country) if t.country else None),
            "group": Column(lambda t: t.political_group),
            "status": Column(lambda t: (not t.active, t.bounced_at is not None, t.daily_digest)),
        },
        text=lambda t: (t.name, t.role, t.institution, t.national_party, t.email),
        filters=filters,
    )
    rows = listing.apply(_filtered(filters))
    shown = listing.paginate(rows, parse_id(request.args.get("page")))
    return render_template(
        "lobbying/targets/index.html",
        targets=shown,
        listing=listing,
        filters=filters,
        can_edit=current_staff().can(EDIT),
    )


@bp.route("/<int:target_id>")
@staff_required(VIEW)
def show(target_id: int) -> ResponseReturnValue:
    target = db.get_or_404(Target, target_id)
    letters = dict(
        db.session.execute(
            select(LetterDelivery.status, func.count())
            .where(LetterDelivery.target_id == target.id)
            .group_by(LetterDelivery.status)
        ).all()
    )
    return render_template(
        "lobbying/targets/show.html",
        target=target,
        letters=[
            (str(label), letters[status])
            for status, label in DELIVERY_LABELS.items()
            if letters.get(status)
        ],
        letters_total=sum(letters.values()),
        can_edit=current_staff().can(EDIT),
    )


# --- Adding and editing ----------------------------------------------------------------------


def _form_page(form: TargetForm, target: Target | None) -> ResponseReturnValue:
    return (
        render_template(
            "lobbying/targets/form.html",
            form=form,
            target=target,
            time_zones=sorted(known_time_zones()),
            imported_fields=[str(label) for label in IMPORTED_FIELDS.values()],
        ),
        422 if form.errors else 200,
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(EDIT)
def new() -> ResponseReturnValue:
    form = TargetForm()
    form.fill_choices(None)
    if request.method == "GET":
        form.time_zone.data = current_app.config["LOBBYING_DEFAULT_TIME_ZONE"]
    if form.validate_on_submit():
        target = Target(active=True, **form.values(None))
        db.session.add(target)
        db.session.flush()
        audit(
            "target.created",
            target=target,
            detail={"name": target.name, "kind": str(target.kind), "email": target.email},
        )
        db.session.commit()
        flash(_("%(name)s was added to the directory.", name=target.name), "success")
        return redirect(url_for(".show", target_id=target.id))
    return _form_page(form, None)


def _plain(value: object) -> object:
    return str(value) if isinstance(value, TargetKind) else value


@bp.route("/<int:target_id>/edit", methods=["GET", "POST"])
@staff_required(EDIT)
def edit(target_id: int) -> ResponseReturnValue:
    target = db.get_or_404(Target, target_id)
    form = TargetForm()
    form.fill_choices(target)
    if request.method == "GET":
        form.load(target)
    if form.validate_on_submit():
        values = form.values(target)
        changes = {
            key: {"from": _plain(getattr(target, key)), "to": _plain(value)}
            for key, value in values.items()
            if getattr(target, key) != value
        }
        if not changes:
            flash(_("Nothing was changed."), "info")
        else:
            for key in changes:
                setattr(target, key, values[key])
            target.touch()
            if "email" in changes and target.bounced_at is not None:
                # A corrected address: the bounce was the old one's.
                target.bounced_at = target.bounce_reason = None
                requeue_skipped(target.id, ("bounced",))
            audit("target.updated", target=target, detail=changes)
            db.session.commit()
            flash(_("Changes to %(name)s saved.", name=target.name), "success")
        return redirect(url_for(".show", target_id=target.id))
    return _form_page(form, target)


# --- Switches: daily digest, bounce, in office -----------------------------------------------


def _switch(
    target_id: int, field: str, value: object, message: Callable[[str], str]
) -> ResponseReturnValue:
    """Set one of the target's switches, with its audit entry; pressing it twice changes
    nothing the second time."""
    target = db.get_or_404(Target, target_id)
    before = getattr(target, field)
    if before == value:
        flash(_("Nothing to change: it was already so."), "info")
        return redirect(url_for(".show", target_id=target.id))
    detail = {field: {"from": _json(before), "to": _json(value)}}
    setattr(target, field, value)
    if field == "bounced_at":
        detail["bounce_reason"] = target.bounce_reason
        target.bounce_reason = None
        detail["letters_requeued"] = requeue_skipped(target.id, ("bounced",))
    elif field == "active":
        target.left_office_on = None if value else _today()
        target.touch()  # the API shows whether a target is in office
        if value:
            detail["letters_requeued"] = requeue_skipped(target.id, ("left office",))
    elif field == "daily_digest":
        detail["letters_moved"] = switch_digest(target.id, on=bool(value))
    audit("target.state_changed", target=target, detail=detail)
    db.session.commit()
    flash(message(target.name), "success")
    return redirect(url_for(".show", target_id=target.id))


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _today() -> date:
    return datetime.now(ZoneInfo(current_app.config["LOBBYING_DEFAULT_TIME_ZONE"])).date()


@bp.route("/<int:target_id>/digest/on", methods=["POST"])
@staff_required(EDIT)
def digest_on(target_id: int) -> ResponseReturnValue:
    def message(name: str) -> str:
        return _(
            "Daily digest on: %(name)s now receives one message a day listing that day's letters.",
            name=name,
        )

    return _switch(target_id, "daily_digest", True, message)


@bp.route("/<int:target_id>/digest/off", methods=["POST"])
@staff_required(EDIT)
def digest_off(target_id: int) -> ResponseReturnValue:
    def message(name: str) -> str:
        return _("Daily digest off: %(name)s receives each letter on its own again.", name=name)

    return _switch(target_id, "daily_digest", False, message)


@bp.route("/<int:target_id>/clear-bounce", methods=["POST"])
@staff_required(EDIT)
def clear_bounce(target_id: int) -> ResponseReturnValue:
    def message(name: str) -> str:
        return _("Bounce cleared: letters to %(name)s will be sent again.", name=name)

    return _switch(target_id, "bounced_at", None, message)


@bp.route("/<int:target_id>/deactivate", methods=["POST"])
@staff_required(EDIT)
def deactivate(target_id: int) -> ResponseReturnValue:
    def message(name: str) -> str:
        return _("%(name)s was deactivated: no letter goes to them until reactivated.", name=name)

    return _switch(target_id, "active", False, message)


@bp.route("/<int:target_id>/reactivate", methods=["POST"])
@staff_required(EDIT)
def reactivate(target_id: int) -> ResponseReturnValue:
    def message(name: str) -> str:
        return _("%(name)s is active again and can receive letters.", name=name)

    return _switch(target_id, "active", True, message)
