"""The form that adds a webhook endpoint: its URL, checked as the sender will check it (https,
no credentials, a public address), and a description for the team."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from campaigns.core.forms import no_control_characters, single_line, strip
from campaigns.extensions import db
from campaigns.webhooks.http import MAX_URL_LENGTH, check_url
from campaigns.webhooks.models import WebhookEndpoint

_LONG = _l("Please use at most %(max)d characters.")


class EndpointForm(FlaskForm):
    url = StringField(
        _l("Address (URL)"),
        validators=[
            InputRequired(_l("Please enter the address that receives the messages.")),
            Length(max=MAX_URL_LENGTH, message=_LONG),
            single_line,
            no_control_characters,
        ],
        filters=[strip],
        render_kw={"maxlength": MAX_URL_LENGTH, "type": "url", "autocomplete": "off"},
    )
    description = StringField(
        _l("Description (optional)"),
        validators=[Optional(), Length(max=200, message=_LONG), single_line],
        filters=[strip],
        render_kw={"maxlength": 200, "autocomplete": "off"},
    )

    def __init__(self, network_id: int, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.network_id = network_id

    def validate_url(self, field: StringField) -> None:
        if field.errors:  # already refused: no lookup for a malformed address
            return
        problem = check_url(field.data)
        if problem:
            raise ValidationError(problem)
        taken = db.session.scalar(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.network_id == self.network_id, WebhookEndpoint.url == field.data
            )
        )
        if taken is not None:
            raise ValidationError(_l("This network already has an endpoint at this address."))
