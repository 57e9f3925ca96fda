"""Event handlers of the staff domain: the password reset mail and its audit entry."""

from __future__ import annotations

from flask import current_app

from campaigns.core.events import Event, handles
from campaigns.core.mail import first_name, render_email, send_once
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.staff.models import StaffUser
from campaigns.staff.services import find_by_email, make_reset_token, record_reset_request


@handles("staff.password_reset_requested")
def send_password_reset_mail(event: Event) -> None:
    """Mail the link if an active account has the address asked for (say nothing otherwise)."""
    payload = event.payload
    if "email" in payload:
        user = find_by_email(payload["email"])
    else:  # queued by an earlier release, which looked the account up in the request
        user = db.session.get(StaffUser, payload["staff_user_id"])
    if user is None or not user.is_active:
        return
    locale = payload.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]
    sent = send_once(
        f"staff-reset:{event.id}",
        "staff/password_reset",
        lambda: render_email(
            "staff/password_reset",
            locale,
            user.email,
            name=first_name(user.name),
            reset_url=public_url("staff.reset_password", token=make_reset_token(user)),
            valid_minutes=current_app.config["STAFF_PASSWORD_RESET_MAX_AGE"] // 60,
        ),
    )
    if sent and "email" in payload:
        record_reset_request(user, payload.get("ip_address"))
