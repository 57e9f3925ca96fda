from __future__ import annotations

import functools
from importlib import resources

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from campaigns.core.db import parse_id
from campaigns.core.forms import single_line, strip
from campaigns.staff.models import Role
from campaigns.staff.passwords import MAX_LENGTH


def _email_field(label: str = _l("Email address")) -> EmailField:
    return EmailField(
        label,
        validators=[
            InputRequired(_l("Please enter an email address.")),
            Length(max=254, message=_l("Please use at most %(max)d characters.")),
            Email(message=_l("Please enter a valid email address."), check_deliverability=False),
        ],
        filters=[strip],
        render_kw={"autocomplete": "username", "maxlength": 254},
    )


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(_l("Please enter your password.")),
            Length(max=MAX_LENGTH, message=_l("Please use at most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Six-digit code from your authenticator app"),
        validators=[
            InputRequired(_l("Please enter the code.")),
            Length(max=12, message=_l("The code has six digits.")),
        ],
        filters=[strip],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "maxlength": 12,
            "pattern": r"[0-9 ]*",
        },
    )


class ResetRequestForm(FlaskForm):
    email = _email_field()


class NewPasswordForm(FlaskForm):
    """A new password, typed twice. The policy is checked by the view (it knows the account)."""

    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Please choose a password."))],
        render_kw={"autocomplete": "new-password", "minlength": 12},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(_l("Please type the new password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator: everything, including staff accounts and the audit log"),
    Role.CAMPAIGNER: _l("Campaigner: campaigns, dashboards and exports"),
    Role.COORDINATOR: _l(
        "Coordinator: one member network: its figures (counts only), its profile, alerts and "
        "webhooks, and the supporters who agreed that it may contact them"
    ),
}


class StaffForm(FlaskForm):
    email = _email_field()
    name = StringField(
        _l("Name"),
        validators=[
            Length(max=120, message=_l("Please use at most %(max)d characters.")),
            single_line,
        ],
        filters=[strip],
        render_kw={"maxlength": 120, "autocomplete": "off"},
    )
    role = SelectField(
        _l("Role"),
        choices=[(role.value, label) for role, label in ROLE_LABELS.items()],
        validate_choice=True,
    )
    network_id = SelectField(
        _l("Member network (coordinators only)"),
        coerce=parse_id,
        validate_choice=False,  # the view checks it against the networks that exist
    )
    is_active = BooleanField(_l("Account active (can sign in)"), default=True)


class TwoFactorForm(CodeForm):
    pass


class SettingsForm(FlaskForm):
    require_two_factor = BooleanField(_l("Require two-factor sign-in for every staff account"))


@functools.cache
def canonical_time_zones() -> tuple[str, ...]:
    """The IANA zones people choose from, by today's names (Europe/Kyiv, not the older
    Europe/Kiev; no Europe/Belfast), one or more per country: the zone.tab of the tzdata package
    (its zone1970.tab would merge Oslo into Berlin). Europe's first: the network works there."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    zones = {
        line.split("\t")[2] for line in table.splitlines() if line and not line.startswith("#")
    }
    return tuple(sorted(zones, key=lambda zone: (not zone.startswith("Europe/"), zone)))


def _time_zones() -> list[tuple[str, str]]:
    return [(zone, zone.replace("_", " ")) for zone in canonical_time_zones()]


class TimeZoneForm(FlaskForm):
    timezone = SelectField(_l("Your time zone"), choices=_time_zones, validate_choice=True)
