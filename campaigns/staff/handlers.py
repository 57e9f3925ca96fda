"""Event handlers of the staff domain: the password reset mail."""

from __future__ import annotations

from flask import current_app

from campaigns.core.events import Event, handles
from campaigns.core.mail import first_name, render_email, send_once
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.staff.models import StaffUser
from campaigns.staff.services import make_reset_token


@handles("staff.password_reset_requested")
def send_password_reset_mail(event: Event) -> None:
    user = db.session.get(StaffUser, event.payload["staff_user_id"])
    if user is None or not user.is_active:
        return
    locale = event.payload.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]
    send_once(
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
