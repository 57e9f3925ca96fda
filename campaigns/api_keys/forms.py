"""The staff form that makes an API key: what it is for, whose it is, what it may do, and until
when. The checks themselves are `services.problems`, shared with `flask api-keys create`."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from campaigns.api_keys.models import NAME_MAX, SCOPES
from campaigns.api_keys.services import day_end, problems
from campaigns.core.dates import day_error, parse_day
from campaigns.core.db import parse_id
from campaigns.core.forms import no_control_characters, single_line, strip
from campaigns.extensions import db
from campaigns.lobbying.directory_forms import ChecklistField
from campaigns.networks.models import Network

# What each scope lets a key do, one line each (the form shows them beside the boxes).
SCOPE_HELP = {
    "read:campaigns": _l("Read campaigns and petitions with their texts in every language."),
    "read:counts": _l("Read signature counts and a letter action's counts per policymaker."),
    "read:supporters": _l(
        "Read the network's supporters who agreed that it may contact them (personal data: "
        "each read is in the audit log)."
    ),
    "write:signatures": _l(
        "Record signatures from the network's own forms (each still confirmed by email)."
    ),
    "read:targets": _l("Read the directory of policymakers."),
}


class ApiKeyForm(FlaskForm):
    name = StringField(
        _l("What it is for"),
        validators=[
            InputRequired(_l("Please say what the key is for.")),
            Length(max=NAME_MAX, message=_l("Please use at most %(max)d characters.")),
            single_line,
            no_control_characters,
        ],
        filters=[strip],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )
    # Left out of a request (no browser does that): no network.
    network = SelectField(_l("Network"), validate_choice=True, default="")
    scopes = ChecklistField(_l("What it may do"))
    expires = StringField(
        _l("Expires on (optional)"),
        validators=[Optional()],
        filters=[strip],
        render_kw={"type": "date"},
    )
    # Drawn when the form is shown: sending the same form twice (a double click, a reloaded
    # page) makes one key, not two.
    once = StringField(validators=[Optional(), Length(max=40)], filters=[strip])

    def fill_choices(self) -> None:
        networks = db.session.scalars(
            select(Network).where(Network.is_active.is_(True)).order_by(Network.name)
        )
        self.network.choices = [
            ("", _l("None (an integration of the platform)")),
            *((str(n.id), n.name) for n in networks),
        ]
        self.scopes.choices = [(scope, scope) for scope in SCOPES]

    def chosen_network(self) -> Network | None:
        network_id = parse_id(self.network.data)
        return db.session.get(Network, network_id) if network_id is not None else None

    def expires_at(self, zone: str) -> datetime | None:
        day = parse_day(self.expires.data)
        return day_end(day, zone) if day is not None else None

    def validate_expires(self, field: StringField) -> None:
        if field.data and parse_day(field.data) is None:
            raise ValidationError(day_error())

    def check(self, zone: str) -> bool:
        """The shared rules, on what is well formed, so that every mistake shows at once; a
        field refused already keeps its first message."""
        found = problems(
            self.name.data or "",
            self.scopes.data or [],
            None if self.network.errors else self.chosen_network(),
            None if self.expires.errors else self.expires_at(zone),
        )
        for field_name, message in found:
            field = self[field_name]
            if not field.errors:
                field.errors = [message]
        return not found
