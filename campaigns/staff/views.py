"""Staff pages: signing in and out, the second factor at sign-in, and password reset. The
account page is in account_views.py, staff accounts and site settings in team_views.py."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from campaigns.audit.services import record as audit
from campaigns.core.i18n import LANGUAGE_COOKIE
from campaigns.core.ratelimit import limit_posts
from campaigns.extensions import db
from campaigns.staff import auth, passwords, services
from campaigns.staff.auth import current_staff
from campaigns.staff.forms import CodeForm, LoginForm, NewPasswordForm, ResetRequestForm
from campaigns.staff.templating import init_staff_templating

bp = Blueprint("staff", __name__, url_prefix="/staff")
init_staff_templating(bp)


@bp.before_app_request
def forget_previous_staff_user() -> None:
    # An app context can outlive a request (tests, CLI): each request reads its own session.
    g.pop("staff_user", None)
    g.pop("staff_session_expired", None)


# Signing in, the second factor and password reset requests share one budget per IP.
limit_sign_in_posts = limit_posts("staff-sign-in", "RATELIMIT_STAFF_LOGIN_PER_IP")


def _home() -> str:
    # The home page reads every domain, so it lives above them (campaigns/workspace/): named
    # here, not imported.
    return url_for("workspace.home")


# --- Signing in and out ----------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limit_sign_in_posts
def login() -> ResponseReturnValue:
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
            db.session.commit()
            return redirect(next_url)
        db.session.commit()  # a failure's audit entry, a password hash made stronger
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
def login_code() -> ResponseReturnValue:
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
            db.session.commit()
            return redirect(next_url)
        db.session.commit()  # the failure's audit entry
        error = _("That code is not right, or was already used. Wait for the next one.")
    status = 200 if error is None and not form.errors else 422
    return (
        render_template("staff/login_code.html", form=form, error=error, next_url=next_url),
        status,
    )


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    user = current_staff()
    if user is not None:
        audit("staff.logout", target=user)
    auth.log_out(user)
    db.session.commit()
    flash(_("You are signed out."), "info")
    return redirect(url_for("staff.login"))


@bp.route("/language/<code>")
def set_language(code: str) -> ResponseReturnValue:
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
def forgot_password() -> ResponseReturnValue:
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, str(get_locale()))
        db.session.commit()
        return render_template("staff/reset_sent.html")
    return render_template("staff/forgot_password.html", form=form), 422 if form.errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
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
