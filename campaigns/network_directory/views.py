"""Staff pages of the member-network directory: the list, a network's page, adding and editing
a network, and deactivating or reactivating it (after saying what that means)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.campaign.models import Campaign
from campaigns.campaign.services import staff_title
from campaigns.core.i18n import country_name
from campaigns.extensions import db

# The logo and kit pages register their routes on the same blueprint.
from campaigns.network_directory import kit_views, logo_views  # noqa: F401
from campaigns.network_directory import services as directory
from campaigns.network_directory.blueprint import MANAGE, OWN, bp, can_manage, network_or_403
from campaigns.network_directory.forms import NetworkForm, ProfileForm
from campaigns.networks.models import Network
from campaigns.petitions.models import Petition
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.confirmation import Question, ask, confirmed
from campaigns.staff.listing import Column, Listing

__all__ = ["bp"]


@bp.route("/")
@staff_required(OWN)
def index() -> ResponseReturnValue:
    """Every network for admins; a coordinator's own network for them."""
    query = select(Network).options(selectinload(Network.contacts))
    if not can_manage():
        query = query.where(Network.id == (current_staff().network_id or 0))
    networks = sorted(
        db.session.scalars(query),
        key=lambda n: (not n.is_umbrella, not n.is_active, n.country_code or "", n.name),
    )
    brought = directory.signatures_brought()
    listing: Listing[Network] = Listing(
        {
            "name": Column(lambda n: n.name),
            "countries": Column(lambda n: country_name(n.country_code) if n.countries else None),
            "status": Column(lambda n: not n.is_active),
            "contacts": Column(lambda n: len(n.contacts), descending_first=True),
            "brought": Column(lambda n: brought.get(n.id, 0), descending_first=True),
        },
        text=lambda n: (
            n.name,
            n.slug,
            *(country_name(code) for code in n.countries),
            *n.languages,
        ),
    )
    return render_template(
        "network_directory/index.html",
        networks=listing.apply(networks),
        listing=listing,
        brought=brought,
        can_manage=can_manage(),
    )


@bp.route("/<int:network_id>/")
@staff_required(OWN)
def network(network_id: int) -> ResponseReturnValue:
    network = network_or_403(network_id)
    counts = directory.signatures_by_petition(network.id)
    petitions = (
        db.session.scalars(
            select(Petition)
            .where(Petition.id.in_(counts))
            .options(selectinload(Petition.campaign).selectinload(Campaign.translations))
        ).all()
        if counts
        else []
    )
    rows = sorted(
        ((staff_title(p.campaign), p.campaign, counts[p.id]) for p in petitions),
        key=lambda row: (-row[2], row[0]),
    )
    return render_template(
        "network_directory/network.html",
        network=network,
        brought=rows,
        brought_total=sum(counts.values()),
        can_manage=can_manage(),
    )


# --- Adding and editing ----------------------------------------------------------------------


def _form_page(form: ProfileForm, network: Network | None) -> ResponseReturnValue:
    return (
        render_template("network_directory/form.html", form=form, network=network),
        422 if form.errors else 200,
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(MANAGE)
def new() -> ResponseReturnValue:
    form = NetworkForm()
    form.fill_choices(None)
    if request.method == "GET":
        form.alert_language.data = "en"
    if form.validate_on_submit():
        network = directory.create_network(form.values())
        db.session.commit()
        flash(
            _(
                "%(name)s was added. Its ?source= code is %(slug)s; its attribution kit has "
                "the links to share.",
                name=network.name,
                slug=network.slug,
            ),
            "success",
        )
        return redirect(url_for(".network", network_id=network.id), 303)
    return _form_page(form, None)


@bp.route("/<int:network_id>/edit", methods=["GET", "POST"])
@staff_required(OWN)
def edit(network_id: int) -> ResponseReturnValue:
    network = network_or_403(network_id)
    # A coordinator's form has no slug, countries nor embedding sites: what it does not show, it
    # cannot set (a forged POST with them saves the rest and leaves these as they are).
    form = NetworkForm() if can_manage() else ProfileForm()
    form.fill_choices(network)
    if request.method == "GET":
        form.load(network)
    if form.validate_on_submit():
        changes = directory.update_network(network, form.values())
        if changes:
            db.session.commit()
            flash(_("Changes to %(name)s saved.", name=network.name), "success")
        else:
            flash(_("Nothing was changed."), "info")
        return redirect(url_for(".network", network_id=network.id), 303)
    return _form_page(form, network)


# --- Deactivating and reactivating -------------------------------------------------------------


def _deactivate_question(network: Network) -> Question:
    return Question(
        title=_("Deactivate %(name)s?", name=network.name),
        consequences=[
            _("No alerts: its contacts and webhook endpoints receive nothing from now on."),
            _("No embeds: the sites listed for it can no longer show our forms."),
            _(
                "No public page: its page answers “not found” and it leaves the list of member "
                "networks."
            ),
            _(
                "Links with ?source=%(slug)s still open the campaigns, but the signatures and "
                "letters they bring are no longer attributed to it. Those it brought stay counted.",
                slug=network.slug,
            ),
            _("Its coordinators can still sign in and see its page. You can reactivate it."),
        ],
        button=_("Yes, deactivate %(name)s", name=network.name),
        back_url=url_for(".network", network_id=network.id),
        danger=True,
    )


def _reactivate_question(network: Network) -> Question:
    return Question(
        title=_("Reactivate %(name)s?", name=network.name),
        consequences=[
            _("It receives the alerts it subscribed to again, and its public page is back."),
            _(
                "The sites listed for it may show our forms again, and ?source=%(slug)s "
                "attributes new signatures to it.",
                slug=network.slug,
            ),
        ],
        button=_("Yes, reactivate %(name)s", name=network.name),
        back_url=url_for(".network", network_id=network.id),
    )


def _switch(network_id: int, active: bool) -> ResponseReturnValue:
    network = network_or_403(network_id)
    if network.is_active == active:
        flash(_("Nothing to change: it was already so."), "info")
        return redirect(url_for(".network", network_id=network.id), 303)
    if not confirmed():
        return ask(_reactivate_question(network) if active else _deactivate_question(network))
    directory.set_active(network, active)
    db.session.commit()
    if active:
        flash(_("%(name)s is active again.", name=network.name), "success")
    else:
        flash(
            _(
                "%(name)s was deactivated: no alerts, no embeds, no public page, and no new "
                "signature is attributed to it.",
                name=network.name,
            ),
            "success",
        )
    return redirect(url_for(".network", network_id=network.id), 303)


@bp.route("/<int:network_id>/deactivate", methods=["POST"])
@staff_required(MANAGE)
def deactivate(network_id: int) -> ResponseReturnValue:
    return _switch(network_id, False)


@bp.route("/<int:network_id>/reactivate", methods=["POST"])
@staff_required(MANAGE)
def reactivate(network_id: int) -> ResponseReturnValue:
    return _switch(network_id, True)
