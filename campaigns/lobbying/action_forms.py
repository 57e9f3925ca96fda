"""The letter action's settings form: who receives the letters, and what supporters may change.
The view fills the choices (committees, groups and targets come from the directory)."""

from __future__ import annotations

import re

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from campaigns.lobbying.models import EditPolicy, SelectionRule

MAX_TARGETS = (1, 20)
NOTE_MAX = (50, 5_000)
BODY_MAX = (200, 10_000)

NOT_IN_LIST = _l("Please choose only from the list.")


class ChecklistField(SelectMultipleField):
    """Several choices as checkboxes (a long list gets a filter box from static/mailing-form.js;
    the error summary links to the first box)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("invalid_value_message", NOT_IN_LIST)
        kwargs.setdefault("invalid_choice_message", NOT_IN_LIST)
        super().__init__(*args, **kwargs)


class NumberField(IntegerField):
    """A whole number typed in a text input, with a clear message when it is not one."""

    widget = TextInput()

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip()
        if not re.fullmatch(r"\d{1,9}", text):
            self.data = None
            raise ValueError(_l("Please enter a whole number, like 5."))
        self.data = int(text)


class Between:
    """Required, from `low` to `high`; the message says both."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.field_flags = {"required": True}

    def __call__(self, _form: FlaskForm, field: NumberField) -> None:
        if field.errors:  # not a number: that message says it already
            raise StopValidation()
        if field.data is None or not self.low <= field.data <= self.high:
            raise StopValidation(
                _("Please enter a number from %(min)s to %(max)s.")
                % {"min": format_decimal(self.low), "max": format_decimal(self.high)}
            )


def _number(label: str, bounds: tuple[int, int], description: str) -> NumberField:
    return NumberField(
        label,
        validators=[Between(*bounds)],
        description=description,
        render_kw={"inputmode": "numeric", "autocomplete": "off", "size": 6},
    )


RULE_CHOICES = [
    (
        SelectionRule.OWN_COUNTRY.value,
        _l("The MEPs of the supporter's own country (members of the chosen committees first)"),
    ),
    (
        SelectionRule.COMMITTEES.value,
        _l("Members of the chosen committees (chairs and vice-chairs first)"),
    ),
    (
        SelectionRule.GROUP.value,
        _l(
            "The MEPs of one political group (on the chosen committees first, then the supporter's country)"
        ),
    ),
    (SelectionRule.NAMED.value, _l("A list of policymakers you name")),
]

EDIT_CHOICES = [
    (EditPolicy.FIXED.value, _l("Fixed: supporters send the letter as it is written")),
    (
        EditPolicy.NOTE.value,
        _l("Supporters may add a paragraph of their own, up to the length below"),
    ),
    (
        EditPolicy.FULL.value,
        _l("Supporters may rewrite the subject and the body, within the body limit below"),
    ),
]


class LetterActionForm(FlaskForm):
    rule = RadioField(
        _l("Who receives the letters"),
        choices=RULE_CHOICES,
        validators=[InputRequired(_l("Please choose who receives the letters."))],
        invalid_choice_message=_l("Please choose who receives the letters."),
    )
    committees = ChecklistField(
        _l("Committees"),
        description=_l(
            "With the committees rule, their members receive the letters; with the other rules, "
            "members of these committees come first."
        ),
    )
    political_group = SelectField(
        _l("Political group"),
        description=_l("Used by the political group rule."),
        invalid_choice_message=NOT_IN_LIST,
    )
    named = ChecklistField(_l("Named list"), coerce=int)
    fallback = ChecklistField(
        _l("Fallback list: for supporters the rule finds nobody for"),
        coerce=int,
        description=_l(
            "Norway has no MEPs, and neither has “another country”: their supporters write to "
            "these policymakers."
        ),
    )
    max_targets = _number(
        _l("Most policymakers one letter goes to"),
        MAX_TARGETS,
        _l("From 1 to 20."),
    )
    edit_policy = RadioField(
        _l("What supporters may change"),
        choices=EDIT_CHOICES,
        validators=[InputRequired(_l("Please choose what supporters may change."))],
        invalid_choice_message=_l("Please choose what supporters may change."),
    )
    note_max = _number(
        _l("Longest paragraph of their own (characters)"),
        NOTE_MAX,
        _l("From 50 to 5,000. Used when supporters may add a paragraph."),
    )
    body_max = _number(
        _l("Longest body (characters)"),
        BODY_MAX,
        _l("From 200 to 10,000. Used when supporters may rewrite the letter."),
    )

    def validate_committees(self, field: ChecklistField) -> None:
        if self.rule.data == SelectionRule.COMMITTEES.value and not field.data:
            raise ValidationError(
                _l("Please choose at least one committee: their members receive the letters.")
            )

    def validate_political_group(self, field: SelectField) -> None:
        if self.rule.data == SelectionRule.GROUP.value and not field.data:
            raise ValidationError(_l("Please choose a group: its MEPs receive the letters."))

    def validate_named(self, field: ChecklistField) -> None:
        if self.rule.data == SelectionRule.NAMED.value and not field.data:
            raise ValidationError(_l("Please choose at least one policymaker for the named list."))
