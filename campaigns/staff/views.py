"""Staff pages: signing in and out, password reset, the account page, two-factor set-up, staff
accounts and site settings (admins)."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from campaigns.core.i18n import LANGUAGE_COOKIE
from campaigns.core.ratelimit import limit_posts
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff import auth, passwords, services, totp
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.forms import (
    ChangePasswordForm,
    CodeForm,
    LoginForm,
    NewPasswordForm,
    ResetRequestForm,
    SettingsForm,
    StaffForm,
    TimeZoneForm,
    TwoFactorForm,
)
from campaigns.staff.models import Capability, Role, StaffUser
from campaigns.staff.templating import init_staff_templating

bp = Blueprint("staff", __name__, url_prefix="/staff")
init_staff_templating(bp)

# Session key holding the secret of a two-factor set-up in progress (until a code proves it works).
SETUP_SECRET_KEY = "staff_totp_setup"  # noqa: S105 - a session key, not a secret


@bp.before_app_request
def forget_previous_staff_user() -> None:
    # An app context can outlive a request (tests, CLI): each request reads its own session.
    g.pop("staff_user", None)
    g.pop("staff_session_expired", None)


# Signing in, the second factor and password reset requests share one budget per IP.
limit_sign_in_posts = limit_posts("staff-sign-in", "RATELIMIT_STAFF_LOGIN_PER_IP")


def _home() -> str:
    return url_for("staff.home")


@bp.route("/")
@staff_required()
def home():  # noqa: ANN201
    return render_template("staff/home.html")


# --- Signing in and out ----------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limit_sign_in_posts
def login():  # noqa: ANN201
    next_url = auth.safe_next_url(request.values.get("next"), _home())
    if current_staff() is not None:
        return redirect(next_url)
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        result = services.check_password(form.email.data, form.password.data)
        if result.outcome == services.LoginOutcome.OK:
            auth.log_in(result.user)
            services.record_login(result.user)
            return redirect(next_url)
        if result.outcome == services.LoginOutcome.NEEDS_CODE:
            auth.start_pending(result.user)
            return redirect(url_for("staff.login_code", next=next_url))
        if result.outcome == services.LoginOutcome.LOCKED:
            error = _(
                "Too many failed attempts for this address. For your security, signing in "
                "is paused for %(minutes)d minutes. You can reset your password meanwhile.",
                minutes=current_app.config["STAFF_LOGIN_LOCKOUT_MINUTES"],
            )
        else:
            error = _("That email address and password do not match an active account.")
    status = 200 if error is None and not form.errors else 422
    expired = g.pop("staff_session_expired", False) or request.args.get("expired")
    return (
        render_template(
            "staff/login.html", form=form, error=error, next_url=next_url, expired=expired
        ),
        status,
    )


@bp.route("/login/code", methods=["GET", "POST"])
@limit_sign_in_posts
def login_code():  # noqa: ANN201
    next_url = auth.safe_next_url(request.values.get("next"), _home())
    user = auth.pending_user()
    if user is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("staff.login", next=next_url))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        if services.check_code(user, form.code.data):
            auth.log_in(user)
            services.record_login(user)
            return redirect(next_url)
        error = _("That code is not right, or was already used. Wait for the next one.")
    status = 200 if error is None and not form.errors else 422
    return (
        render_template("staff/login_code.html", form=form, error=error, next_url=next_url),
        status,
    )


@bp.route("/logout", methods=["POST"])
def logout():  # noqa: ANN201
    user = current_staff()
    if user is not None:
        from campaigns.audit.services import record

        record("staff.logout", target=user)
    auth.log_out(user)
    flash(_("You are signed out."), "info")
    return redirect(url_for("staff.login"))


@bp.route("/language/<code>")
def set_language(code: str):  # noqa: ANN201
    """The language switcher of staff pages (they have no language in their address)."""
    response = redirect(auth.safe_next_url(request.args.get("next"), _home()))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    return response


# --- Password reset ----------------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@limit_sign_in_posts
def forgot_password():  # noqa: ANN201
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, str(get_locale()))
        return render_template("staff/reset_sent.html")
    return render_template("staff/forgot_password.html", form=form), 422 if form.errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):  # noqa: ANN201
    user = services.user_for_reset_token(token)
    if user is None:
        return render_template("staff/reset_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        problem = passwords.password_problem(
            form.password.data, user_inputs=[user.email, user.name]
        )
        if problem:
            form.password.errors.append(problem)
        else:
            services.set_password(user, form.password.data, actor=user)
            db.session.commit()
            auth.log_out()
            flash(_("Your password is changed. Please sign in with it."), "success")
            return redirect(url_for("staff.login"))
    status = 422 if form.errors else 200
    return render_template("staff/reset_password.html", form=form, token=token), status


# --- The account page --------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@staff_required()
def account():  # noqa: ANN201
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
            return redirect(url_for("staff.account"))
    status = 422 if form.errors else 200
    zone_form = TimeZoneForm(timezone=user.timezone)
    return render_template("staff/account.html", user=user, form=form, zone_form=zone_form), status


@bp.route("/account/time-zone", methods=["POST"])
@staff_required()
def time_zone():  # noqa: ANN201
    """Dates and times on staff pages, and a mailing's schedule, are in this zone."""
    user = current_staff()
    form = TimeZoneForm()
    if form.validate_on_submit():
        user.timezone = form.timezone.data
        db.session.commit()
        flash(_("Time zone saved."), "success")
    else:
        flash(_("Choose a time zone from the list."), "error")
    return redirect(url_for("staff.account"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@staff_required()
def two_factor_setup():  # noqa: ANN201
    user = current_staff()
    if user.totp_enabled:
        return redirect(url_for("staff.account"))
    secret = session.get(SETUP_SECRET_KEY) or totp.new_secret()
    session[SETUP_SECRET_KEY] = secret
    form = TwoFactorForm()
    if form.validate_on_submit():
        if services.enable_two_factor(user, secret, form.code.data):
            auth.log_in(user)  # this session goes on; the others ended
            session.pop(SETUP_SECRET_KEY, None)
            flash(_("Two-factor sign-in is on."), "success")
            return redirect(url_for("staff.account"))
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
def two_factor_disable():  # noqa: ANN201
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
    return redirect(url_for("staff.account"))


# --- Staff accounts (admins) ----------------------------------------------------------------


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
def team():  # noqa: ANN201
    members = db.session.scalars(
        select(StaffUser).order_by(StaffUser.is_active.desc(), StaffUser.email)
    ).all()
    return render_template(
        "staff/team.html", members=members, two_factor_required=services.two_factor_required()
    )


@bp.route("/team/new", methods=["GET", "POST"])
@staff_required(Capability.MANAGE_STAFF)
def new_member():  # noqa: ANN201
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
            flash(
                _(
                    "Account created. %(email)s will receive an email to choose a password.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("staff.team"))
    status = 422 if form.errors else 200
    return render_template("staff/member.html", form=form, member=None), status


@bp.route("/team/<int:staff_id>", methods=["GET", "POST"])
@staff_required(Capability.MANAGE_STAFF)
def edit_member(staff_id: int):  # noqa: ANN201
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
            return redirect(url_for("staff.team"))
    status = 422 if form.errors else 200
    return render_template("staff/member.html", form=form, member=member), status


@bp.route("/team/<int:staff_id>/two-factor/reset", methods=["POST"])
@staff_required(Capability.MANAGE_STAFF)
def reset_member_two_factor(staff_id: int):  # noqa: ANN201
    """For someone who lost their phone: they set up a new second factor at their next sign-in."""
    member = db.get_or_404(StaffUser, staff_id)
    if member.totp_enabled:
        services.disable_two_factor(member, actor=current_staff())
        db.session.commit()
        flash(_("Two-factor sign-in was reset for %(email)s.", email=member.email), "success")
    return redirect(url_for("staff.edit_member", staff_id=member.id))


@bp.route("/settings", methods=["GET", "POST"])
@staff_required(Capability.MANAGE_STAFF)
def settings():  # noqa: ANN201
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
            return redirect(url_for("staff.settings"))
    return render_template("staff/settings.html", form=form), 422 if form.errors else 200
