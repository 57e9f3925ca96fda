"""The form staff log a target's answer to a letter action with. The view fills the targets and
the dates an answer may have (from the campaign's creation to today)."""

from __future__ import annotations

from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from campaigns.core.forms import https_link, newlines, no_control_characters, strip
from campaigns.lobbying.models import Position

QUOTE_MAX = 500
LINK_MAX = 300
TOO_LONG = _l("Please use at most %(max)d characters.")

POSITION_CHOICES = [
    (Position.SUPPORTS.value, _l("Supports")),
    (Position.OPPOSES.value, _l("Opposes")),
    (Position.UNDECIDED.value, _l("Undecided")),
    (Position.NO_REPLY.value, _l("No reply")),
]


class DayField(DateField):
    """A date (the browser offers a calendar), with a clear message when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None  # "required" says what is missing
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(
                _l("Please enter a date as year-month-day, like 2026-12-08.")
            ) from error


class ResponseForm(FlaskForm):
    """A target's answer. `earliest` and `latest` bound its date; the view sets them."""

    earliest: date | None = None
    latest: date | None = None

    target = SelectField(
        _l("Policymaker"),
        validators=[InputRequired(_l("Please choose the policymaker who answered."))],
        invalid_choice_message=_l("Please choose a policymaker from the list."),
    )
    responded_on = DayField(
        _l("Date of the answer"),
        validators=[InputRequired(_l("Please enter the date of the answer."))],
    )
    position = RadioField(
        _l("Their position"),
        choices=POSITION_CHOICES,
        validators=[InputRequired(_l("Please choose their position."))],
        invalid_choice_message=_l("Please choose their position."),
    )
    quote = TextAreaField(
        _l("Short quote (optional)"),
        validators=[Length(max=QUOTE_MAX, message=TOO_LONG), no_control_characters],
        filters=[newlines],
        render_kw={"rows": 4, "maxlength": QUOTE_MAX},
    )
    link = StringField(
        _l("Link to the answer (optional)"),
        validators=[Length(max=LINK_MAX, message=TOO_LONG), https_link],
        filters=[strip],
        render_kw={"type": "url", "inputmode": "url", "maxlength": LINK_MAX},
    )

    def validate_responded_on(self, field: DayField) -> None:
        if field.data is None:
            return
        if self.latest is not None and field.data > self.latest:
            raise ValidationError(
                _(
                    "This date is in the future: an answer is dated at the latest today, "
                    "%(today)s.",
                    today=format_date(self.latest, "medium"),
                )
            )
        if self.earliest is not None and field.data < self.earliest:
            raise ValidationError(
                _(
                    "This date is before the campaign was created (%(day)s): please check it.",
                    day=format_date(self.earliest, "medium"),
                )
            )
