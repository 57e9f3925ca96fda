from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from campaigns.campaign.models import Campaign, CampaignKind
from campaigns.core.forms import single_line, strip
from campaigns.core.i18n import SIGNER_COUNTRIES, country_name, language_name
from campaigns.extensions import db
from campaigns.mailings.audience import Audience
from campaigns.mailings.compose import problems
from campaigns.mailings.models import Mailing, MailingVersion
from campaigns.networks.models import Network


def _merge_fields_known(_form: FlaskForm, field: StringField) -> None:
    found = problems(field.data or "")
    if found:
        raise ValidationError(found[0])


class ChecklistField(SelectMultipleField):
    """Several choices as checkboxes: no Ctrl/Cmd to hold, long names wrap, and a long list gets
    a filter box (static/mailing-form.js)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AudienceForm(FlaskForm):
    """Who receives a mailing. Also read on its own, from a query string, for the live count."""

    campaign_ids = ChecklistField(
        _l("Signers of these campaigns (none chosen: all campaigns)"), coerce=int
    )
    countries = ChecklistField(_l("Countries (none chosen: all)"))
    locales = ChecklistField(_l("Languages (none chosen: all)"))
    network_ids = ChecklistField(
        _l("Brought by these member networks (none chosen: any)"), coerce=int
    )

    def audience(self) -> Audience:
        return Audience(
            campaign_ids=self.campaign_ids.data or [],
            countries=self.countries.data or [],
            locales=self.locales.data or [],
            network_ids=self.network_ids.data or [],
        )


class MailingForm(AudienceForm):
    """The mailing's settings and audience; each language's text is added by `mailing_form()`."""

    name = StringField(
        _l("Name (for staff only)"),
        validators=[
            InputRequired(_l("Please give the mailing a name.")),
            Length(max=200, message=_l("Please use at most %(max)d characters.")),
            single_line,
        ],
        filters=[strip],
    )
    default_locale = SelectField(_l("Default language (for recipients of other languages)"))
    action_campaign_id = SelectField(_l("Campaign for the action link and campaign title"))


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
                    single_line,
                    _merge_fields_known,
                ],
                filters=[strip],
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
        filters=[strip],
    )


# --- Between the form and the mailing ---------------------------------------------------------


def fill_choices(form: MailingForm) -> None:
    """The choices that come from the database and the configured languages."""
    languages = current_app.config["LANGUAGES"]
    form.default_locale.choices = [(code, language_name(code)) for code in languages]
    form.action_campaign_id.choices = [("", _("None"))] + [
        (str(i), t) for i, t in fill_audience_choices(form)
    ]


def fill_audience_choices(form: AudienceForm) -> list[tuple[int, str]]:
    """The audience's choices; returns every campaign (a mailing may point to a letter action
    too), newest first, as (id, title)."""
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()
    titles = [(c.id, campaign_title(c)) for c in campaigns]
    # Audiences are signers: a letter action has none (its writers consented to the letter only).
    form.campaign_ids.choices = [
        (c.id, title)
        for c, (_id, title) in zip(campaigns, titles, strict=True)
        if c.kind == CampaignKind.PETITION
    ]
    form.countries.choices = sorted(
        ((cc, country_name(cc)) for cc in SIGNER_COUNTRIES), key=lambda c: c[1]
    )
    form.locales.choices = [(code, language_name(code)) for code in current_app.config["LANGUAGES"]]
    form.network_ids.choices = [
        (n.id, n.name) for n in db.session.scalars(select(Network).order_by(Network.name))
    ]
    return titles


def campaign_title(campaign: Campaign) -> str:
    translation = campaign.translation_for(campaign.default_locale)
    return translation.title if translation else campaign.slug


def load(form: MailingForm, mailing: Mailing) -> None:
    """Fill the form from a saved mailing."""
    audience = Audience.from_dict(mailing.audience)
    form.name.data = mailing.name
    form.default_locale.data = mailing.default_locale
    form.action_campaign_id.data = str(mailing.action_campaign_id or "")
    form.campaign_ids.data = audience.campaign_ids
    form.countries.data = audience.countries
    form.locales.data = audience.locales
    form.network_ids.data = audience.network_ids
    for version in mailing.versions:
        if hasattr(form, f"subject_{version.locale}"):
            getattr(form, f"subject_{version.locale}").data = version.subject
            getattr(form, f"body_{version.locale}").data = version.body_markdown


def versions_valid(form: MailingForm) -> bool:
    """Each language has both a subject and a text, or neither; the default language has one.
    Checked beside the fields' own validators, so that one save reports every problem."""
    ok = True
    for code in current_app.config["LANGUAGES"]:
        subject, body = getattr(form, f"subject_{code}"), getattr(form, f"body_{code}")
        if bool(subject.data) != bool((body.data or "").strip()):
            empty = body if subject.data else subject
            empty.errors.append(_("Write both a subject and a text in this language, or neither."))
            ok = False
    default = form.default_locale.data
    if default in current_app.config["LANGUAGES"] and not getattr(form, f"subject_{default}").data:
        getattr(form, f"subject_{default}").errors.append(
            _("The default language needs its version: every recipient without one gets it.")
        )
        ok = False
    return ok


def save(form: MailingForm, mailing: Mailing) -> None:
    """Copy the form into `mailing` (new or not); the caller flushes and commits."""
    mailing.name = form.name.data
    mailing.default_locale = form.default_locale.data
    mailing.action_campaign_id = (
        int(form.action_campaign_id.data) if form.action_campaign_id.data else None
    )
    mailing.audience = form.audience().to_dict()
    existing = {v.locale: v for v in mailing.versions}
    for code in current_app.config["LANGUAGES"]:
        subject = getattr(form, f"subject_{code}").data
        body = getattr(form, f"body_{code}").data
        if subject:
            version = existing.get(code) or MailingVersion(locale=code)
            version.subject, version.body_markdown = subject, body
            if code not in existing:
                mailing.versions.append(version)
        elif code in existing:
            mailing.versions.remove(existing[code])
