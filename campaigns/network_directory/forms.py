"""The staff forms of the directory: a network's profile (what its coordinator may edit too),
the whole record (admins: the slug, the countries and the sites that may embed our forms as well),
and the logo.

The checks themselves live in `rules`, shared with `flask networks ...`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import Field, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from campaigns.core.forms import https_link, newlines, no_control_characters, single_line, strip
from campaigns.core.i18n import country_choices
from campaigns.lobbying.directory_forms import ChecklistField, language_label
from campaigns.network_directory import rules
from campaigns.networks.models import Network

_LONG = _l("Please use at most %(max)d characters.")


def _lower(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


def _lines(text: str | None) -> list[str]:
    return (text or "").split("\n")


def _one_message(errors: list[str]) -> None:
    if errors:
        raise ValidationError(rules.joined(errors))


class ProfileForm(FlaskForm):
    """Who the network is and who receives its alerts: what a coordinator edits (not where it
    works: see NetworkForm)."""

    name = StringField(
        _l("Name"),
        validators=[
            InputRequired(_l("Please enter the network's name.")),
            Length(max=rules.NAME_MAX, message=_LONG),
            single_line,
        ],
        filters=[strip],
        render_kw={"maxlength": rules.NAME_MAX, "autocomplete": "organization"},
    )
    alert_language = SelectField(_l("Alerts in"), validate_choice=True)
    languages = ChecklistField(_l("Languages it works in"))
    website = StringField(
        _l("Website (optional)"),
        validators=[
            Optional(),
            Length(max=rules.WEBSITE_MAX, message=_LONG),
            single_line,
            https_link,
        ],
        filters=[strip],
        render_kw={"maxlength": rules.WEBSITE_MAX, "type": "url", "autocomplete": "url"},
    )
    description = TextAreaField(
        _l("Who they are (optional)"),
        validators=[Length(max=rules.DESCRIPTION_MAX, message=_LONG), no_control_characters],
        filters=[newlines],
        render_kw={"rows": 5, "maxlength": rules.DESCRIPTION_MAX},
    )
    contacts = TextAreaField(
        _l("Alert contacts"),
        validators=[no_control_characters],
        filters=[newlines],
        render_kw={"rows": 4, "autocomplete": "off", "spellcheck": "false"},
    )

    def fill_choices(self, network: Network | None) -> None:
        """Languages by their name in the page's language."""
        self.alert_language.choices = [
            (code, language_label(code)) for code in rules.alert_languages()
        ]
        self.languages.choices = sorted(
            ((code, language_label(code)) for code in rules.working_languages()),
            key=lambda choice: choice[1].casefold(),
        )

    def load(self, network: Network) -> None:
        self.name.data = network.name
        self.alert_language.data = network.locale
        self.languages.data = list(network.languages)
        self.website.data = network.website or ""
        self.description.data = network.description or ""
        self.contacts.data = rules.contact_lines(network.contacts)

    # --- Checks ---------------------------------------------------------------------------------

    def validate_languages(self, _field: Field) -> None:
        _one_message(rules.check_languages(self.language_list()))

    def validate_contacts(self, field: Field) -> None:
        self.parsed_contacts, errors = rules.parse_contacts(_lines(field.data))
        _one_message(errors)

    # --- What to store --------------------------------------------------------------------------

    def language_list(self) -> list[str]:
        """The alerts' language first (Network.locale), then the others it works in."""
        first = self.alert_language.data or ""
        return [first, *(code for code in self.languages.data or [] if code != first)]

    def values(self) -> dict[str, object]:
        return {
            "name": self.name.data,
            "languages": self.language_list(),
            "website": self.website.data or None,
            "description": self.description.data or "",
            "contacts": self.parsed_contacts,
        }


class NetworkForm(ProfileForm):
    """The whole record, for admins: also the `?source=` slug, the countries and the embedding
    sites. The countries decide which signers are offered "<network> may contact me"
    (petitions.network_consent): a coordinator who could change them could collect consents
    meant for other networks."""

    slug = StringField(
        _l("Slug"),
        filters=[_lower],
        render_kw={
            "maxlength": 40,
            "autocomplete": "off",
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )
    countries = ChecklistField(_l("Countries it works in"))
    embed_origins = TextAreaField(
        _l("Sites that may embed our forms (optional)"),
        validators=[no_control_characters],
        filters=[newlines],
        render_kw={"rows": 3, "autocomplete": "off", "spellcheck": "false"},
    )

    def fill_choices(self, network: Network | None) -> None:
        super().fill_choices(network)
        self.network_id = network.id if network is not None else None
        self.countries.choices = [
            (code, name) for code, name in country_choices() if code in rules.NETWORK_COUNTRIES
        ]
        # The umbrella network works everywhere; a member network somewhere.
        self.countries_required = not (network is not None and network.is_umbrella)

    def load(self, network: Network) -> None:
        super().load(network)
        self.slug.data = network.slug
        self.countries.data = list(network.countries)
        self.embed_origins.data = "\n".join(network.embed_origins)

    def validate_slug(self, field: Field) -> None:
        _one_message(rules.check_slug(field.data or "", self.network_id))

    def validate_countries(self, field: Field) -> None:
        _one_message(rules.check_countries(field.data or [], required=self.countries_required))

    def validate_embed_origins(self, field: Field) -> None:
        self.parsed_origins, errors = rules.parse_origins(_lines(field.data))
        _one_message(errors)

    def values(self) -> dict[str, object]:
        return {
            **super().values(),
            "slug": self.slug.data,
            "countries": [
                code for code in rules.NETWORK_COUNTRIES if code in (self.countries.data or [])
            ],
            "embed_origins": self.parsed_origins,
        }


class LogoForm(FlaskForm):
    logo = FileField(
        _l("Logo file"),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
