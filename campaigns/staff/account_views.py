"""The staff member's own account: password, time zone, two-factor sign-in."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from campaigns.extensions import db
from campaigns.staff import auth, passwords, services, totp
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.forms import ChangePasswordForm, TimeZoneForm, TwoFactorForm
from campaigns.staff.templating import init_staff_templating

bp = Blueprint("staff_account", __name__, url_prefix="/staff")
init_staff_templating(bp)

# Session key holding the secret of a two-factor set-up in progress (until a code proves it works).
TOTP_SETUP_SESSION_KEY = "staff_totp_setup_nonce"


@bp.route("/account", methods=["GET", "POST"])
@staff_required()
def account() -> ResponseReturnValue:
    user = current_staff()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not passwords.verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("This is not your current password."))
        elif problem := passwords.password_problem(
            form.password.data, user_inputs=[user.email, user.name]
        ):
            form.password.errors.append(problem)
        else:
            services.set_password(user, form.password.data, actor=user)
            db.session.commit()
            auth.log_in(user)  # this browser stays signed in; every other session ends
            flash(_("Your password is changed. Other sessions were signed out."), "success")
            return redirect(url_for("staff_account.account"))
    status = 422 if form.errors else 200
    zone_form = TimeZoneForm(timezone=user.timezone)
    return render_template("staff/account.html", user=user, form=form, zone_form=zone_form), status


@bp.route("/account/time-zone", methods=["POST"])
@staff_required()
def time_zone() -> ResponseReturnValue:
    """Dates and times on staff pages, and a mailing's schedule, are in this zone."""
    user = current_staff()
    form = TimeZoneForm()
    if form.validate_on_submit():
        user.timezone = form.timezone.data
        db.session.commit()
        flash(_("Time zone saved."), "success")
    else:
        flash(_("Choose a time zone from the list."), "error")
    return redirect(url_for("staff_account.account"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@staff_required()
def two_factor_setup() -> ResponseReturnValue:
    user = current_staff()
    if user.totp_enabled:
        return redirect(url_for("staff_account.account"))
    nonce = session.get(TOTP_SETUP_SESSION_KEY) or totp.new_setup_nonce()
    session[TOTP_SETUP_SESSION_KEY] = nonce
    secret = totp.setup_secret(current_app.config["SECRET_KEY"], user.id, nonce)
    form = TwoFactorForm()
    if form.validate_on_submit():
        if services.enable_two_factor(user, secret, form.code.data):
            db.session.commit()
            auth.log_in(user)  # this session goes on; the others ended
            session.pop(TOTP_SETUP_SESSION_KEY, None)
            flash(_("Two-factor sign-in is on."), "success")
            return redirect(url_for("staff_account.account"))
        form.code.errors.append(_("That code is not right. Check the time on your phone."))
    uri = totp.provisioning_uri(secret, user.email)
    return (
        render_template(
            "staff/two_factor_setup.html",
            form=form,
            secret=secret,
            qr_code=totp.qr_code_svg(uri),
            required=services.two_factor_required(),
        ),
        422 if form.errors else 200,
    )


@bp.route("/account/two-factor/disable", methods=["POST"])
@staff_required()
def two_factor_disable() -> ResponseReturnValue:
    user = current_staff()
    if services.two_factor_required():
        flash(_("Two-factor sign-in is required for every account here."), "error")
    elif not passwords.verify_password(user.password_hash, request.form.get("password", "")):
        # Someone at an unattended, signed-in browser must not be able to weaken the account.
        flash(_("That is not your password: two-factor sign-in stays on."), "error")
    elif user.totp_enabled:
        services.disable_two_factor(user, actor=user)
        db.session.commit()
        auth.log_in(user)
        flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for("staff_account.account"))
