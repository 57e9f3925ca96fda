"""Staff sign-in sessions and the access check every staff page goes through.

A staff session lives in the signed session cookie as the account id, the account's current
`session_token` (changing it signs the account out everywhere), when it started and when it was last
used. It ends after STAFF_SESSION_IDLE_MINUTES without a request, and after STAFF_SESSION_MAX_HOURS
in any case.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from campaigns.core.errors import render_error
from campaigns.extensions import db
from campaigns.staff.models import Capability, StaffUser, new_session_token

SESSION_KEY = "staff"
# Between password and code: who passed the first step, and when (it must finish within minutes).
PENDING_KEY = "staff_pending"
PENDING_SECONDS = 300
# Refresh the "last used" time at most this often, not on every request: each refresh rewrites
# the cookie.
SEEN_GRANULARITY = 60


def log_in(user: StaffUser) -> None:
    # A new session for a new identity: whatever the browser held before is dropped.
    session.clear()
    now = int(time.time())
    session[SESSION_KEY] = {"id": user.id, "token": user.session_token, "at": now, "seen": now}
    session.permanent = False
    g.staff_user = user


def log_out(user: StaffUser | None = None) -> None:
    """End the session. With `user`, every other session of the account ends too (once the
    caller commits): the session is a signed cookie, so a copy of it would otherwise stay valid
    until it expires."""
    if user is not None:
        user.session_token = new_session_token()  # the caller commits
    session.pop(SESSION_KEY, None)
    session.pop(PENDING_KEY, None)
    g.staff_user = None


def start_pending(user: StaffUser) -> None:
    """The password was right and a code is needed next."""
    session.clear()
    session[PENDING_KEY] = {"id": user.id, "token": user.session_token, "at": int(time.time())}


def pending_user() -> StaffUser | None:
    pending = session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None
    user = db.session.get(StaffUser, pending["id"])
    if user is None or not user.is_active or user.session_token != pending["token"]:
        return None
    return user


def current_staff() -> StaffUser | None:
    """The signed-in staff member of this request, or None (also when the session expired)."""
    if "staff_user" in g:
        return g.staff_user
    g.staff_user = _load_session_user()
    return g.staff_user


def _load_session_user() -> StaffUser | None:
    data = session.get(SESSION_KEY)
    if not data:
        return None
    now = int(time.time())
    config = current_app.config
    idle = now - data["seen"] > config["STAFF_SESSION_IDLE_MINUTES"] * 60
    too_old = now - data["at"] > config["STAFF_SESSION_MAX_HOURS"] * 3600
    user = None if idle or too_old else db.session.get(StaffUser, data["id"])
    if user is None or not user.is_active or user.session_token != data["token"]:
        session.pop(SESSION_KEY, None)
        if idle or too_old:
            g.staff_session_expired = True
        return None
    if now - data["seen"] >= SEEN_GRANULARITY and request.endpoint not in PASSIVE_ENDPOINTS:
        session[SESSION_KEY] = {**data, "seen": now}
    return user


# Requests a page makes by itself (polling), which must not keep an unattended session alive.
PASSIVE_ENDPOINTS = frozenset({"staff_mailings.progress_json"})


def safe_next_url(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default` (no open redirect)."""
    if not target:
        return default
    try:
        parts = urlsplit(target)
    except ValueError:  # a broken IPv6 address: https://[::1
        return default
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    # A CR or LF would split the Location header (werkzeug refuses it with a server error).
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default
    return target


def staff_required(capability: Capability | None = None) -> Callable:
    """Guard a staff view: signed in (else to the sign-in page), two-factor set up where required,
    and holding `capability` (else a 403 page). The capability is kept on the view so a test can
    check that every staff route declares one."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: object, **kwargs: object) -> ResponseReturnValue:
            from campaigns.staff.services import two_factor_required

            user = current_staff()
            if user is None:
                next_url = request.full_path.rstrip("?") if request.method == "GET" else None
                expired = 1 if g.get("staff_session_expired") else None
                return redirect(url_for("staff.login", next=next_url, expired=expired))
            if (
                two_factor_required()
                and not user.totp_enabled
                and request.endpoint not in TWO_FACTOR_SETUP_ENDPOINTS
            ):
                return redirect(url_for("staff_account.two_factor_setup"))
            if capability is not None and not user.can(capability):
                return forbidden()
            return view(*args, **kwargs)

        wrapped.staff_capability = capability
        return wrapped

    return decorator


# Pages a signed-in person may reach before setting up the required second factor.
TWO_FACTOR_SETUP_ENDPOINTS = frozenset({"staff_account.two_factor_setup", "staff.logout"})


def forbidden() -> tuple[str, int]:
    from flask_babel import gettext as _

    return render_error(
        403,
        _("You do not have access to this page"),
        _("Your role does not include this. Ask an administrator if you need it."),
    )
