"""Staff accounts and site settings, for admins."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff import services
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.forms import SettingsForm, StaffForm
from campaigns.staff.listing import Column, Listing
from campaigns.staff.models import Capability, Role, StaffUser
from campaigns.staff.templating import ROLE_NAMES, init_staff_templating

bp = Blueprint("staff_team", __name__, url_prefix="/staff")
init_staff_templating(bp)


def _network_choices() -> list[tuple[str, str]]:
    networks = db.session.scalars(select(Network).order_by(Network.name))
    return [("", _("None"))] + [(str(n.id), n.name) for n in networks]


def _check_network(form: StaffForm) -> bool:
    role = Role(form.role.data)
    if role != Role.COORDINATOR:
        form.network_id.data = None
        return True
    if form.network_id.data is None:
        form.network_id.errors.append(_("Choose the network this coordinator works for."))
        return False
    if db.session.get(Network, form.network_id.data) is None:
        form.network_id.errors.append(_("This network does not exist."))
        return False
    return True


@bp.route("/team/")
@staff_required(Capability.MANAGE_STAFF)
def team() -> ResponseReturnValue:
    members = db.session.scalars(
        select(StaffUser).order_by(StaffUser.is_active.desc(), StaffUser.email)
    ).all()
    listing = Listing(
        {
            "email": Column(lambda m: m.email),
            "name": Column(lambda m: m.name or None),
            "role": Column(lambda m: str(ROLE_NAMES[Role(m.role)])),
            "network": Column(lambda m: m.network.name if m.network else None),
            "last_login": Column(lambda m: m.last_login_at, descending_first=True),
        },
        text=lambda m: (
            m.email,
            m.name,
            str(ROLE_NAMES[Role(m.role)]),
            m.network.name if m.network else None,
        ),
    )
    return render_template(
        "staff/team.html",
        members=listing.apply(members),
        listing=listing,
        two_factor_required=services.two_factor_required(),
    )


@bp.route("/team/new", methods=["GET", "POST"])
@staff_required(Capability.MANAGE_STAFF)
def new_member() -> ResponseReturnValue:
    form = StaffForm()
    form.network_id.choices = _network_choices()
    if form.validate_on_submit() and _check_network(form):
        if services.find_by_email(form.email.data) is not None:
            form.email.errors.append(_("There is already an account with this address."))
        else:
            user = services.create_staff(
                form.email.data,
                services.generate_password(),
                Role(form.role.data),
                name=form.name.data or "",
                network_id=form.network_id.data,
                actor=current_staff(),
            )
            user.is_active = True
            # They choose their own password through a reset link: nobody else ever knows it.
            services.request_password_reset(user.email, str(get_locale()))
            db.session.commit()
            flash(
                _(
                    "Account created. %(email)s will receive an email to choose a password.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("staff_team.team"))
    status = 422 if form.errors else 200
    return render_template("staff/member.html", form=form, member=None), status


@bp.route("/team/<int:staff_id>", methods=["GET", "POST"])
@staff_required(Capability.MANAGE_STAFF)
def edit_member(staff_id: int) -> ResponseReturnValue:
    member = db.get_or_404(StaffUser, staff_id)
    form = StaffForm(obj=member if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = member.role.value
    form.network_id.choices = _network_choices()
    if form.validate_on_submit() and _check_network(form):
        me = current_staff()
        demoting_last_admin = (
            member.role == Role.ADMIN
            and (Role(form.role.data) != Role.ADMIN or not form.is_active.data)
            and services.count_admins() <= 1
        )
        clash = services.find_by_email(form.email.data)
        if demoting_last_admin:
            form.role.errors.append(_("This is the last active administrator: keep this role."))
        elif clash is not None and clash.id != member.id:
            form.email.errors.append(_("There is already an account with this address."))
        else:
            services.update_staff(
                member,
                email=form.email.data,
                name=form.name.data or "",
                role=Role(form.role.data),
                network_id=form.network_id.data,
                is_active=form.is_active.data,
                actor=me,
            )
            db.session.commit()
            flash(_("Account saved."), "success")
            return redirect(url_for("staff_team.team"))
    status = 422 if form.errors else 200
    return render_template("staff/member.html", form=form, member=member), status


@bp.route("/team/<int:staff_id>/two-factor/reset", methods=["POST"])
@staff_required(Capability.MANAGE_STAFF)
def reset_member_two_factor(staff_id: int) -> ResponseReturnValue:
    """For someone who lost their phone: they set up a new second factor at their next sign-in."""
    member = db.get_or_404(StaffUser, staff_id)
    if member.totp_enabled:
        services.disable_two_factor(member, actor=current_staff())
        db.session.commit()
        flash(_("Two-factor sign-in was reset for %(email)s.", email=member.email), "success")
    return redirect(url_for("staff_team.edit_member", staff_id=member.id))


@bp.route("/settings", methods=["GET", "POST"])
@staff_required(Capability.MANAGE_STAFF)
def settings() -> ResponseReturnValue:
    form = SettingsForm()
    if request.method == "GET":
        form.require_two_factor.data = services.two_factor_required()
    if form.validate_on_submit():
        me = current_staff()
        if form.require_two_factor.data and not me.totp_enabled:
            form.require_two_factor.errors.append(
                _("Turn on two-factor sign-in for your own account first.")
            )
        else:
            services.set_setting(services.REQUIRE_TWO_FACTOR, form.require_two_factor.data, me)
            db.session.commit()
            flash(_("Settings saved."), "success")
            return redirect(url_for("staff_team.settings"))
    return render_template("staff/settings.html", form=form), 422 if form.errors else 200
