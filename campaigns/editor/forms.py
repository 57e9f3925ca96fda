"""The campaign editor's forms: settings, one language's text, the delivery note.

Maximum lengths come from the database columns, so a text that fits the form fits the table.
Checks that need the database (a slug already used, a network that does not exist) are the
view's, which adds their message to the field like any other.
"""

from __future__ import annotations

import re
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import InstrumentedAttribute
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import TextInput

from campaigns.campaign.markup import disallowed_markup
from campaigns.campaign.models import (
    Campaign,
    CampaignKind,
    CampaignTranslation,
    TranslationStatus,
)
from campaigns.core.db import parse_id, utcnow
from campaigns.core.forms import single_line, strip

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# "10000", "10 000", "10,000", "10.000", "10'000": thousands separators as people type them.
WHOLE_NUMBER = re.compile(r"\d{1,3}(?:[ ,.'\u00a0\u202f]\d{3})+|\d+")
MAX_GOAL = 100_000_000
MAX_BODY_LENGTH = 50_000
# A letter's body, as the supporter sends it (plain text).
LETTER_BODY_MAX = 5_000
DELIVERY_NOTE_MAX_LENGTH = 5_000


def _column_length(column: InstrumentedAttribute) -> int:
    return column.property.columns[0].type.length


SLUG_MAX = _column_length(Campaign.slug)
TITLE_MAX = _column_length(CampaignTranslation.title)
SUMMARY_MAX = _column_length(CampaignTranslation.summary)
TARGET_MAX = _column_length(CampaignTranslation.target)
LETTER_SUBJECT_MAX = _column_length(CampaignTranslation.letter_subject)

TOO_LONG = _l("Please use at most %(max)d characters.")


class Written:
    """Required, and more than spaces (InputRequired lets "   " through)."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, _form: FlaskForm, field: StringField) -> None:
        if not (field.data or "").strip():
            field.errors[:] = []
            raise StopValidation(self.message)


def _plain_text(value: str | None) -> str | None:
    """Line ends as one character each (browsers send CR LF), no spaces around the text."""
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _safe_markdown(_form: FlaskForm, field: TextAreaField) -> None:
    found = disallowed_markup(field.data or "")
    if found:
        # gettext, not lazy_gettext: a lazy string counts as safe HTML in templates, and this
        # message quotes what was typed.
        raise ValidationError(
            _(
                "This text contains HTML that is not allowed: %(found)s. Scripts, styles, frames "
                "and event handlers (such as onclick) are never shown to the public; please "
                "remove it and use Markdown for formatting.",
                found=found,
            )
        )


class WholeNumberField(IntegerField):
    """An integer, typed with or without thousands separators, with a clear message otherwise.
    A text input: a number input would send nothing at all for "10 000"."""

    widget = TextInput()

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip()
        if not WHOLE_NUMBER.fullmatch(text):
            self.data = None
            raise ValueError(_l("Please enter a whole number, like 10000."))
        self.data = int(re.sub(r"\D", "", text))


class DayField(DateField):
    """A date (the browser offers a calendar), with a clear message when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(
                _l("Please enter a date as year-month-day, like 2031-08-31.")
            ) from error


def language_choices() -> list[tuple[str, str]]:
    from campaigns.campaign.services import language_label

    return [(code, language_label(code)) for code in current_app.config["LANGUAGES"]]


class SettingsForm(FlaskForm):
    """The campaign and its petition. The view fills the network choices and may remove the slug
    (it cannot change once the page is public: links to it are out in the world)."""

    slug = StringField(
        _l("Web address (slug)"),
        validators=[
            Written(_l("Please choose the last part of the page's address.")),
            Length(max=SLUG_MAX, message=TOO_LONG),
        ],
        filters=[strip],
        description=_l(
            "Lowercase letters, digits and hyphens, e.g. naloxone-in-every-pocket. "
            "It cannot be changed after the launch."
        ),
        render_kw={"maxlength": SLUG_MAX, "autocomplete": "off", "spellcheck": "false"},
    )
    default_locale = SelectField(
        _l("Default language"),
        description=_l("Shown to visitors whose language has no ready version."),
    )
    lead_network_id = SelectField(
        _l("Lead network"),
        coerce=parse_id,
        validators=[InputRequired(_l("Please choose the network leading this campaign."))],
        validate_choice=False,  # the view says "does not exist", more clearly
    )
    goal = WholeNumberField(
        _l("Signature goal"),
        validators=[
            InputRequired(_l("Please set a goal: how many signatures you aim for.")),
            NumberRange(
                min=1, max=MAX_GOAL, message=_l("Please enter a number from 1 to 100,000,000.")
            ),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    deadline = DayField(
        _l("Deadline (optional)"),
        validators=[Optional()],
        description=_l("Signing ends after this day. Leave empty for no deadline."),
    )
    eci_progress = BooleanField(
        _l(
            "EU Citizens' Initiative style progress: 1,000,000 signatures, and the minimum "
            "number in at least 7 countries"
        )
    )

    # A deadline already saved may lie in the past (a closed campaign); saving it again is fine.
    saved_deadline: date | None = None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.default_locale.choices = language_choices()

    def validate_slug(self, field: StringField) -> None:
        if field.data and not SLUG_PATTERN.fullmatch(field.data):
            raise ValidationError(
                _l(
                    "Use only lowercase letters (a–z), digits and single hyphens between them, "
                    "e.g. naloxone-in-every-pocket."
                )
            )

    def validate_deadline(self, field: DayField) -> None:
        if field.data and field.data != self.saved_deadline and field.data < utcnow().date():
            raise ValidationError(_l("This day has passed. Choose today or a later day."))


TRANSLATION_STATUS_CHOICES = [
    (TranslationStatus.DRAFT.value, _l("Draft: not shown to the public yet")),
    (
        TranslationStatus.READY.value,
        _l("Ready: shown to visitors in this language once the campaign is live"),
    ),
]


class TextForm(FlaskForm):
    """One language's version of the campaign: what the public page shows."""

    title = StringField(
        _l("Title"),
        validators=[
            Written(_l("Please give the campaign a title.")),
            Length(max=TITLE_MAX, message=TOO_LONG),
            single_line,
        ],
        filters=[strip],
        render_kw={"maxlength": TITLE_MAX},
    )
    summary = TextAreaField(
        _l("Summary"),
        validators=[
            Written(_l("Please write a short summary.")),
            Length(max=SUMMARY_MAX, message=TOO_LONG),
        ],
        filters=[strip],
        description=_l("One or two sentences, shown on the home page and under the title."),
        render_kw={"maxlength": SUMMARY_MAX, "rows": 3},
    )
    target = StringField(
        _l("Addressed to (optional)"),
        validators=[Optional(), Length(max=TARGET_MAX, message=TOO_LONG), single_line],
        filters=[strip],
        description=_l("e.g. Members of the European Parliament's Public Health committee"),
        render_kw={"maxlength": TARGET_MAX},
    )
    body_markdown = TextAreaField(
        _l("Text of the petition (Markdown)"),
        validators=[
            Written(_l("Please write the text of the petition.")),
            Length(max=MAX_BODY_LENGTH, message=TOO_LONG),
            _safe_markdown,
        ],
        description=_l(
            "Markdown: **bold**, *italic*, [a link](https://example.org), a blank line between "
            "paragraphs, lists starting with 1. or -."
        ),
        render_kw={"rows": 16, "maxlength": MAX_BODY_LENGTH},
    )
    # A letter campaign's letter in this language; the view removes both for a petition. Either
    # may stay empty in a draft: the view requires both for a version marked ready.
    letter_subject = StringField(
        _l("Letter subject"),
        validators=[Optional(), Length(max=LETTER_SUBJECT_MAX, message=TOO_LONG), single_line],
        filters=[strip],
        description=_l("One line: the subject of the email every policymaker receives."),
        render_kw={"maxlength": LETTER_SUBJECT_MAX},
    )
    letter_body = TextAreaField(
        _l("Letter body"),
        validators=[Optional(), Length(max=LETTER_BODY_MAX, message=TOO_LONG)],
        filters=[_plain_text],
        description=_l(
            "Plain text, at most 5,000 characters: no Markdown or HTML. A greeting such as "
            "“Dear …” is added for each policymaker automatically, and the supporter's name is "
            "added as the signature."
        ),
        render_kw={"rows": 14, "maxlength": LETTER_BODY_MAX},
    )
    status = SelectField(
        _l("Status of this version"), choices=TRANSLATION_STATUS_CHOICES, validate_choice=True
    )


KIND_CHOICES = [
    (CampaignKind.PETITION.value, _l("Petition")),
    (CampaignKind.LETTER.value, _l("Letter to policymakers")),
]
# The settings only a petition has: ignored (and not required) for a letter.
PETITION_ONLY_FIELDS = ("goal", "deadline", "eci_progress")
LETTER_FIELDS = ("letter_subject", "letter_body")


class NewCampaignForm(SettingsForm, TextForm):
    """A new campaign: its kind (fixed from then on), its settings and its default language's
    text."""

    kind = RadioField(
        _l("Kind of campaign"),
        choices=KIND_CHOICES,
        default=CampaignKind.PETITION.value,
        validators=[InputRequired(_l("Please choose a petition or a letter to policymakers."))],
        invalid_choice_message=_l("Please choose a petition or a letter to policymakers."),
        description=_l("It cannot be changed once the campaign is saved."),
    )

    @property
    def is_letter(self) -> bool:
        return self.kind.data == CampaignKind.LETTER.value

    def validate(self, extra_validators: dict | None = None) -> bool:
        super().validate(extra_validators)
        # What belongs to the other kind is ignored: a letter has no goal, deadline or ECI
        # progress, a petition no letter.
        ignored = LETTER_FIELDS if not self.is_letter else PETITION_ONLY_FIELDS
        for name in ignored:
            self[name].errors = []
        if self.is_letter:
            require_letter_when_ready(self)
        return not any(f.errors for f in self)


def require_letter_when_ready(form: TextForm) -> bool:
    """A letter campaign's version can be marked ready only with its letter: both parts."""
    if form.status.data != TranslationStatus.READY.value:
        return True
    ok = True
    for f, message in (
        (
            form.letter_subject,
            _l("Please write the letter's subject, or keep this version as a draft."),
        ),
        (form.letter_body, _l("Please write the letter's body, or keep this version as a draft.")),
    ):
        if not f.errors and not (f.data or "").strip():
            f.errors.append(message)
            ok = False
    return ok


class DeliveryForm(FlaskForm):
    note = TextAreaField(
        _l("Delivery note: to whom, when and how"),
        validators=[
            Written(_l("Please say to whom, when and how the petition was delivered.")),
            Length(max=DELIVERY_NOTE_MAX_LENGTH, message=TOO_LONG),
        ],
        filters=[strip],
        description=_l(
            "e.g. Handed to the chair of the SANT committee on 31 August 2031 in Brussels, "
            "with the signatures as a printed report."
        ),
        render_kw={"rows": 4, "maxlength": DELIVERY_NOTE_MAX_LENGTH},
    )
