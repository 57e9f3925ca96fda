"""The form staff log a target's answer to a letter action with. The view fills the targets and
the dates an answer may have (from the campaign's creation to today)."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from campaigns.lobbying.models import Position

QUOTE_MAX = 500
LINK_MAX = 300
TOO_LONG = _l("Please use at most %(max)d characters.")
# Control characters other than the line break and the tab (which a pasted quote may hold).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

POSITION_CHOICES = [
    (Position.SUPPORTS.value, _l("Supports")),
    (Position.OPPOSES.value, _l("Opposes")),
    (Position.UNDECIDED.value, _l("Undecided")),
    (Position.NO_REPLY.value, _l("No reply")),
]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _newlines(value: str | None) -> str | None:
    # Browsers send CR LF; the limit counts what a person sees: one character per line break.
    return (
        value.replace("\r\n", "\n").replace("\r", "\n").strip() if isinstance(value, str) else value
    )


def _no_control(_form: FlaskForm, field: TextAreaField) -> None:
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_l("Please remove the invisible control characters."))


def _https_link(_form: FlaskForm, field: StringField) -> None:
    if not field.data:
        return
    parts = urlsplit(field.data)
    if (
        parts.scheme.lower() != "https"
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in field.data)
    ):
        raise ValidationError(
            _l(
                "Please enter a web address that starts with https://, such as "
                "https://www.europarl.europa.eu/."
            )
        )


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
        validators=[Length(max=QUOTE_MAX, message=TOO_LONG), _no_control],
        filters=[_newlines],
        render_kw={"rows": 4, "maxlength": QUOTE_MAX},
    )
    link = StringField(
        _l("Link to the answer (optional)"),
        validators=[Length(max=LINK_MAX, message=TOO_LONG), _https_link],
        filters=[_strip],
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
