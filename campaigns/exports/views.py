"""Staff pages: the signature export (a form, then a streamed CSV) and the delivery report.

Coordinators hold no export capability: signers are told that a member network sees how many
people it brought, never who. Should a role with a network ever export, its network filter is
forced to that network here, whatever the request says.
"""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    stream_with_context,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_percent, get_locale
from sqlalchemy import func, select

from campaigns.audit.services import record
from campaigns.campaign.models import Campaign, CampaignKind
from campaigns.core.dates import parse_day
from campaigns.core.db import utcnow
from campaigns.exports.csv_export import COLUMNS, ExportFilters, count_rows, csv_chunks
from campaigns.exports.forms import ExportForm
from campaigns.exports.report import public_names, report_tally
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.models import Capability, Role, StaffUser

bp = Blueprint("exports", __name__, url_prefix="/staff/campaigns")


def network_scope(user: StaffUser) -> int | None:
    """The one network whose supporters `user` may see, or None for all."""
    if user.role == Role.COORDINATOR and user.network_id is None:
        abort(403)  # never "all networks" by accident of a missing network
    return user.scoped_network_id


class NotAPetition(Exception):
    """A letter campaign: no signatures to export or report (its letters are not exported)."""

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(campaign.slug)
        self.campaign = campaign


@bp.errorhandler(NotAPetition)
def not_a_petition(error: NotAPetition) -> ResponseReturnValue:
    return render_template(
        "exports/not_a_petition.html", campaign=error.campaign, title=_title(error.campaign)
    ), 404


def _campaign_and_petition(campaign_id: int) -> tuple[Campaign, Petition]:
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.kind == CampaignKind.LETTER:
        raise NotAPetition(campaign)
    if campaign.petition is None:
        abort(404)
    return campaign, campaign.petition


def _title(campaign: Campaign) -> str:
    translation = campaign.translation_for(str(get_locale()))
    return translation.title if translation else campaign.slug


def _network_names(scope: int | None) -> dict[int, str]:
    query = select(Network.id, Network.name).order_by(Network.name)
    if scope is not None:
        query = query.where(Network.id == scope)
    return dict(db.session.execute(query).all())


def _counts(petition_id: int, scope: int | None) -> dict[str, int]:
    query = (
        select(Signature.status, func.count())
        .where(Signature.petition_id == petition_id)
        .group_by(Signature.status)
    )
    if scope is not None:
        query = query.where(Signature.source_network_id == scope)
    counts = dict(db.session.execute(query).all())
    return {status.value: counts.get(status, 0) for status in SignatureStatus}


def _filename(campaign: Campaign) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", campaign.slug)
    return f"{slug}-signatures-{utcnow():%Y-%m-%d}.csv"


@bp.route("/<int:campaign_id>/export", methods=["GET", "POST"])
@staff_required(Capability.EXPORT)
def signatures(campaign_id: int) -> ResponseReturnValue:
    """GET: the form. POST: the CSV (a download), or the form again with what to correct."""
    campaign, petition = _campaign_and_petition(campaign_id)
    scope = network_scope(current_staff())
    names = _network_names(scope)
    form = ExportForm([(str(i), name) for i, name in names.items()], forced=scope is not None)
    if scope is not None:
        form.network.data = str(scope)  # forced: no parameter can widen a coordinator's view
    if not form.validate_on_submit():
        return render_template(
            "exports/form.html",
            campaign=campaign,
            title=_title(campaign),
            form=form,
            scope_name=names.get(scope) if scope is not None else None,
            counts=_counts(petition.id, scope),
        ), 422 if form.is_submitted() else 200

    filters = ExportFilters(
        include_pending=form.status.data == "all",
        country=form.country.data or None,
        network_id=int(form.network.data) if form.network.data else None,
        date_field=form.date_field.data,
        date_from=parse_day(form.date_from.data),
        date_to=parse_day(form.date_to.data),
    )
    columns = [key for key in COLUMNS if key in form.columns.data]
    # Recorded (and committed) before the first byte leaves: a download cut short still shows.
    record(
        "signatures.exported",
        campaign_id=campaign.id,
        detail={
            "filters": filters.as_dict(),
            "columns": columns,
            "rows": count_rows(petition.id, filters),
        },
    )
    db.session.commit()
    chunks = csv_chunks(petition.id, filters, columns, names)
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_filename(campaign)}"'},
    )


@bp.route("/<int:campaign_id>/report")
@staff_required(Capability.EXPORT)
def delivery_report(campaign_id: int) -> ResponseReturnValue:
    """A printable page to hand the petition over. Names only when asked for (?names=1)."""
    campaign, petition = _campaign_and_petition(campaign_id)
    scope = network_scope(current_staff())
    ready = campaign.ready_locales
    text_locale = request.args.get("text", "")
    if text_locale not in ready:
        text_locale = str(get_locale()) if str(get_locale()) in ready else campaign.default_locale
    translation = campaign.translation_for(text_locale)
    if translation is None and campaign.translations:
        translation = campaign.translations[0]  # nothing ready yet: still show something

    names = None
    if request.args.get("names") == "1":
        names = public_names(petition.id, scope)
        record(
            "supporters.viewed",
            campaign_id=campaign.id,
            detail={"page": "delivery_report", "names": len(names), "network_id": scope},
        )
        db.session.commit()
    return render_template(
        "exports/report.html",
        campaign=campaign,
        petition=petition,
        translation=translation,
        text_locale=text_locale,
        ready_locales=ready,
        tally=report_tally(petition.id, scope),
        scope_name=_network_names(scope).get(scope) if scope is not None else None,
        names=names,
        generated_at=utcnow(),
        percent=lambda n, total: format_percent(n / total if total else 0, "#,##0.0%"),
    )
