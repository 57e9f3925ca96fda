"""Forms of the alert pages: a network's subscriptions (a checkbox per topic and channel) and
an urgent action (its text per language, its link, deadline and campaign)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, Field, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from campaigns.alerts.models import Channel, Topic
from campaigns.alerts.topics import CHANNEL_NAMES, TOPIC_NAMES
from campaigns.campaign.services import language_label
from campaigns.core.db import utcnow
from campaigns.core.forms import https_link, newlines, no_control_characters, single_line, strip

# --- Subscriptions ----------------------------------------------------------------------------


def field_name(topic: Topic, channel: Channel) -> str:
    return f"{topic.name.lower()}__{channel.value}"


class SubscriptionsForm(FlaskForm):
    """One checkbox per topic and channel (fields added by `subscriptions_form`)."""

    def choices(self) -> set[tuple[Topic, Channel]]:
        return {
            (topic, channel)
            for topic in Topic
            for channel in Channel
            if self[field_name(topic, channel)].data
        }

    def box(self, topic: Topic, channel: Channel) -> Field:
        return self[field_name(topic, channel)]


def subscriptions_form(current: set[tuple[Topic, Channel]]) -> SubscriptionsForm:
    """The form, ticked as the network's subscriptions are now (a POST reads the request)."""
    fields = {
        field_name(topic, channel): BooleanField(
            _l(
                "%(topic)s by %(channel)s", topic=TOPIC_NAMES[topic], channel=CHANNEL_NAMES[channel]
            ),
            default=(topic, channel) in current,
        )
        for topic in Topic
        for channel in Channel
    }
    return type("NetworkSubscriptionsForm", (SubscriptionsForm,), fields)()


# --- Urgent actions ---------------------------------------------------------------------------

TITLE_MAX = 120  # UrgentActionTranslation.title
TEXT_MAX = 600  # a short alert: it is read in a mail client or a chat channel
LINK_MAX = 500  # UrgentAction.link
REQUIRED_LOCALE = "en"
_LONG = _l("Please use at most %(max)d characters.")


def _not_past(_form: FlaskForm, field: DateField) -> None:
    if field.data and field.data < utcnow().date():
        raise ValidationError(_l("The deadline has passed: choose today or a later day."))


class UrgentActionForm(FlaskForm):
    """The title and text per language are added per configured language (`urgent_form`); the
    English ones are required, another language's are optional but go together."""

    link = StringField(
        _l("Link"),
        validators=[
            InputRequired(_l("Please enter the link where networks can act.")),
            Length(max=LINK_MAX, message=_LONG),
            single_line,
            https_link,
        ],
        filters=[strip],
        render_kw={"maxlength": LINK_MAX, "type": "url", "autocomplete": "off"},
    )
    deadline = DateField(
        _l("Deadline (optional)"),
        validators=[Optional(), _not_past],
        render_kw={"type": "date"},
    )
    campaign_id = SelectField(_l("Campaign (optional)"), validate_choice=True)
    # Carried through the preview and the question, so that pressing "send" twice sends once.
    once = StringField(validators=[Optional(), Length(max=40)], filters=[strip])

    def locales(self) -> list[str]:
        return list(current_app.config["LANGUAGES"])

    def texts(self) -> Iterator[tuple[str, Field, Field]]:
        """(locale, title field, text field), English first."""
        for locale in self.locales():
            yield locale, self[f"title_{locale}"], self[f"text_{locale}"]

    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)
        for locale, title, text in self.texts():
            if locale == REQUIRED_LOCALE:
                continue
            if bool(title.data) != bool(text.data):  # one without the other
                missing = text if title.data else title
                missing.errors = [
                    *missing.errors,
                    str(_l("Please write both the title and the text, or neither.")),
                ]
                valid = False
        return valid

    def written(self) -> dict[str, tuple[str, str]]:
        """{locale: (title, text)} for the languages written."""
        return {
            locale: (title.data, text.data)
            for locale, title, text in self.texts()
            if title.data and text.data
        }

    def carried(self) -> dict[str, str]:
        """Every value, as the hidden fields of the preview and the question."""
        values = {
            "link": self.link.data or "",
            "deadline": self.deadline.data.isoformat() if self.deadline.data else "",
            "campaign_id": self.campaign_id.data or "",
            "once": self.once.data or "",
        }
        for locale, title, text in self.texts():
            values[f"title_{locale}"] = title.data or ""
            values[f"text_{locale}"] = text.data or ""
        return values


def urgent_form(campaign_choices: list[tuple[str, str]]) -> UrgentActionForm:
    fields: dict[str, Field] = {}
    for locale in current_app.config["LANGUAGES"]:
        required = locale == REQUIRED_LOCALE
        language = language_label(locale)
        presence = (
            [InputRequired(_l("Please write the title in English."))] if required else [Optional()]
        )
        fields[f"title_{locale}"] = StringField(
            _l("Title (%(language)s)", language=language),
            validators=[*presence, Length(max=TITLE_MAX, message=_LONG), single_line],
            filters=[strip],
            render_kw={"maxlength": TITLE_MAX, "autocomplete": "off", "lang": locale},
        )
        text_presence = (
            [InputRequired(_l("Please write the text in English."))] if required else [Optional()]
        )
        fields[f"text_{locale}"] = TextAreaField(
            _l("Text (%(language)s)", language=language),
            validators=[*text_presence, Length(max=TEXT_MAX, message=_LONG), no_control_characters],
            filters=[newlines],
            render_kw={"maxlength": TEXT_MAX, "rows": 5, "lang": locale},
        )
    form = type("UrgentActionFormWithTexts", (UrgentActionForm,), fields)()
    form.campaign_id.choices = [("", str(_l("None"))), *campaign_choices]
    return form
