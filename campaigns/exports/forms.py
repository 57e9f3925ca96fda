"""The export form: which signatures (status, country, network, dates) and which columns."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from campaigns.core.dates import day_error, parse_day
from campaigns.core.i18n import country_choices
from campaigns.exports.csv_export import COLUMNS, DEFAULT_COLUMNS


def _a_day(_form: FlaskForm, field: StringField) -> None:
    if field.data and parse_day(field.data) is None:
        raise ValidationError(day_error())


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (each with its own label)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ExportForm(FlaskForm):
    status = RadioField(
        _l("Which signatures"),
        choices=[
            ("confirmed", _l("Confirmed only")),
            ("all", _l("Confirmed and pending (email not confirmed yet)")),
        ],
        default="confirmed",
        validate_choice=False,  # validate_status says it more clearly
    )
    country = SelectField(_l("Country"), validate_choice=False)
    network = SelectField(_l("Brought by network"), validate_choice=False)
    date_field = RadioField(
        _l("Dates apply to"),
        choices=[
            ("confirmed", _l("the day of confirmation")),
            ("signed", _l("the day of signing")),
        ],
        default="confirmed",
        validate_choice=False,
    )
    date_from = StringField(_l("From (day, UTC)"), validators=[_a_day], render_kw={"type": "date"})
    date_to = StringField(
        _l("To (day, UTC, included)"), validators=[_a_day], render_kw={"type": "date"}
    )
    columns = CheckboxesField(_l("Columns"), default=DEFAULT_COLUMNS, validate_choice=False)

    def __init__(self, networks: list[tuple[str, str]], forced: bool = False, **kwargs: object):
        """`networks`: the (id, name) choices this person may pick; `forced`: only these, never
        "any network" (a coordinator's own network)."""
        super().__init__(**kwargs)
        self.country.choices = [("", _l("All countries")), *country_choices()]
        self.network.choices = networks if forced else [("", _l("Any network")), *networks]
        self.columns.choices = [(key, column.label) for key, column in COLUMNS.items()]

    def validate_status(self, field: RadioField) -> None:
        if field.data not in {"confirmed", "all"}:
            raise ValidationError(_l("Please choose which signatures to export."))

    def validate_date_field(self, field: RadioField) -> None:
        if field.data not in {"confirmed", "signed"}:
            raise ValidationError(_l("Please choose what the dates apply to."))

    def validate_country(self, field: SelectField) -> None:
        if field.data and field.data not in {code for code, _label in field.choices}:
            raise ValidationError(_l("Please choose a country from the list."))

    def validate_network(self, field: SelectField) -> None:
        if field.data and field.data not in {str(value) for value, _label in field.choices}:
            raise ValidationError(_l("Please choose a network from the list."))

    def validate_date_to(self, field: StringField) -> None:
        start, end = parse_day(self.date_from.data), parse_day(field.data)
        if start and end and end < start:
            raise ValidationError(_l("The last day cannot be before the first."))

    def validate_columns(self, field: CheckboxesField) -> None:
        if not field.data:
            raise ValidationError(_l("Please choose at least one column."))
        if any(key not in COLUMNS for key in field.data):
            raise ValidationError(_l("Please choose columns from the list."))
