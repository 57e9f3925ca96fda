"""The supporter's letter form. What a supporter may change follows the action's edit policy."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError

from campaigns.core.forms import newlines, no_control_characters, single_line, strip
from campaigns.core.i18n import country_choices
from campaigns.lobbying.models import EditPolicy, LetterAction

TOO_LONG = _l("Please use at most %(max)d characters.")
SUBJECT_MAX = 200


class LetterForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST first (see petitions.forms.SignatureForm)

    name = StringField(
        _l("Your name"),
        validators=[
            InputRequired(_l("Please enter your name.")),
            Length(max=120, message=TOO_LONG),
            single_line,
        ],
        filters=[strip],
        render_kw={"autocomplete": "name", "maxlength": 120},
    )
    email = EmailField(
        _l("Your email address"),
        validators=[
            InputRequired(_l("Please enter your email address.")),
            Length(max=254, message=TOO_LONG),
            Email(
                message=_l("Please enter a valid email address, like name@example.org."),
                check_deliverability=False,
                # The policymakers answer to it: an address every mail server can carry.
                allow_smtputf8=False,
            ),
        ],
        filters=[strip],
        render_kw={"autocomplete": "email", "maxlength": 254},
    )
    country = SelectField(
        _l("Your country"),
        validators=[InputRequired(_l("Please choose your country."))],
        validate_choice=False,
    )
    note = TextAreaField(
        _l("Add a few words of your own (optional)"),
        validators=[Optional(), no_control_characters],
        filters=[newlines],
    )
    subject = StringField(_l("Subject"), filters=[strip], validators=[single_line])
    body = TextAreaField(_l("Your letter"), validators=[no_control_characters], filters=[newlines])
    source = HiddenField()
    website = StringField(
        _l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )

    def __init__(self, action: LetterAction, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        self.country.choices = [("", _l("Choose your country")), *country_choices()]
        self.note.render_kw = {"rows": 4, "maxlength": action.note_max}
        self.subject.render_kw = {"maxlength": SUBJECT_MAX}
        self.body.render_kw = {"rows": 14, "maxlength": action.body_max}

    @property
    def editable_fields(self) -> list:
        """The fields of the letter itself that this action lets a supporter change."""
        if self.action.edit_policy == EditPolicy.NOTE:
            return [self.note]
        if self.action.edit_policy == EditPolicy.FULL:
            return [self.subject, self.body]
        return []

    def validate_country(self, field: SelectField) -> None:
        if field.data not in {code for code, _label in field.choices if code}:
            raise ValidationError(_l("Please choose your country from the list."))

    def validate_note(self, field: TextAreaField) -> None:
        if (
            self.action.edit_policy == EditPolicy.NOTE
            and len(field.data or "") > self.action.note_max
        ):
            raise ValidationError(TOO_LONG % {"max": self.action.note_max})

    def validate_subject(self, field: StringField) -> None:
        if self.action.edit_policy != EditPolicy.FULL:
            return
        if not field.data:
            raise ValidationError(_l("Please give your letter a subject."))
        if len(field.data) > SUBJECT_MAX:
            raise ValidationError(TOO_LONG % {"max": SUBJECT_MAX})

    def validate_body(self, field: TextAreaField) -> None:
        if self.action.edit_policy != EditPolicy.FULL:
            return
        if not (field.data or "").strip():
            raise ValidationError(_l("Please write your letter (or keep the text we suggest)."))
        if len(field.data) > self.action.body_max:
            raise ValidationError(TOO_LONG % {"max": self.action.body_max})

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)
