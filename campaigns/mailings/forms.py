from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from campaigns.mailings.compose import problems


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _merge_fields_known(_form: FlaskForm, field: StringField) -> None:
    found = problems(field.data or "")
    if found:
        raise ValidationError(found[0])


def _single_line(_form: FlaskForm, field: StringField) -> None:
    if field.data and any(ch in field.data for ch in "\r\n\x00"):
        raise ValidationError(_l("Please write this on a single line."))


class MailingForm(FlaskForm):
    """The mailing's settings and audience; each language's text is added by `mailing_form()`."""

    name = StringField(
        _l("Name (for staff only)"),
        validators=[
            InputRequired(_l("Please give the mailing a name.")),
            Length(max=200, message=_l("Please use at most %(max)d characters.")),
            _single_line,
        ],
        filters=[_strip],
    )
    default_locale = SelectField(_l("Default language (for recipients of other languages)"))
    action_campaign_id = SelectField(_l("Campaign for the action link and campaign title"))
    campaign_ids = SelectMultipleField(
        _l("Signers of these campaigns (none chosen: all campaigns)"), coerce=int
    )
    countries = SelectMultipleField(_l("Countries (none chosen: all)"))
    locales = SelectMultipleField(_l("Languages (none chosen: all)"))
    network_ids = SelectMultipleField(
        _l("Brought by these member networks (none chosen: any)"), coerce=int
    )


def mailing_form(languages: tuple[str, ...] | None = None, **kwargs: object) -> MailingForm:
    """The form with a subject and a body per language (all optional here; the view requires
    the default language's)."""
    languages = languages or current_app.config["LANGUAGES"]

    class Form(MailingForm):
        pass

    for code in languages:
        setattr(
            Form,
            f"subject_{code}",
            StringField(
                _l("Subject"),
                validators=[
                    Optional(),
                    Length(max=200, message=_l("Please use at most %(max)d characters.")),
                    _single_line,
                    _merge_fields_known,
                ],
                filters=[_strip],
            ),
        )
        setattr(
            Form,
            f"body_{code}",
            TextAreaField(
                _l("Text (Markdown)"),
                validators=[
                    Optional(),
                    Length(max=50_000, message=_l("Please use at most %(max)d characters.")),
                    _merge_fields_known,
                ],
                render_kw={"rows": 12},
            ),
        )
    return Form(**kwargs)


class TestSendForm(FlaskForm):
    locale = SelectField(_l("Language"))
    addresses = TextAreaField(
        _l("Staff addresses, one per line (yours if empty)"),
        render_kw={"rows": 3},
    )


class ScheduleForm(FlaskForm):
    send_at = StringField(
        _l("Send at (your time zone; empty: now)"),
        render_kw={"type": "datetime-local"},
        filters=[_strip],
    )
