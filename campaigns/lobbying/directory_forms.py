"""Forms of the directory of targets: a policymaker added or edited by hand, and the list's
filters (read from the query string)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from campaigns.core.forms import https_link, single_line, strip
from campaigns.core.i18n import EU_MEMBER_STATES, country_choices
from campaigns.lobbying.directory import TARGET_LANGUAGES
from campaigns.lobbying.models import Target, TargetKind

KIND_LABELS = {
    TargetKind.MEP: _l("Member of the European Parliament"),
    TargetKind.COMMISSIONER: _l("European Commissioner"),
    TargetKind.AGENCY: _l("EU agency (such as the EU Drugs Agency)"),
    TargetKind.COUNCIL: _l("Council of the EU (such as a working party's chair)"),
    TargetKind.PERMANENT_REPRESENTATION: _l("Permanent representation to the EU"),
    TargetKind.MINISTRY: _l("National ministry"),
    TargetKind.OTHER: _l("Other"),
}
LANGUAGES_MAX_LENGTH = 60  # Target.languages
# The countries a target may belong to: the member states and Norway (empty: EU-wide).
TARGET_COUNTRIES = (*EU_MEMBER_STATES, "NO")


def language_label(code: str) -> str:
    """A language's name in the page's language, with its code: "German (de)"."""
    name = Locale.parse(str(get_locale())).languages.get(code, code)
    return f"{name} ({code})"


@functools.cache
def known_time_zones() -> frozenset[str]:
    # Without the host's own settings, which name no place.
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def _time_zone(_form: FlaskForm, field: StringField) -> None:
    message = _l("Please enter a time zone such as Europe/Brussels or Europe/Oslo.")
    if field.data not in known_time_zones():
        raise ValidationError(message)
    try:
        ZoneInfo(field.data)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(message) from None


def _some_language(_form: FlaskForm, field: SelectMultipleField) -> None:
    if not field.data:
        raise ValidationError(_l("Please choose at least one language."))
    if len(" ".join(field.data)) > LANGUAGES_MAX_LENGTH:  # the column holds 20 codes
        raise ValidationError(_l("Please choose at most 20 languages."))


class ChecklistField(SelectMultipleField):
    """Several choices as checkboxes (the error summary links to the first box)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: FlaskForm) -> None:
        known = {value for value, _label in self.choices}
        if any(value not in known for value in self.data or []):
            raise ValidationError(_l("Please choose from the list."))


_LONG = _l("Please use at most %(max)d characters.")


class TargetForm(FlaskForm):
    kind = SelectField(_l("Kind"), validate_choice=True)
    name = StringField(
        _l("Name"),
        validators=[
            InputRequired(_l("Please enter the name.")),
            Length(max=200, message=_LONG),
            single_line,
        ],
        filters=[strip],
        render_kw={"maxlength": 200, "autocomplete": "off"},
    )
    role = StringField(
        _l("Role"),
        validators=[
            InputRequired(_l("Please enter the role, such as “Commissioner for Health”.")),
            Length(max=200, message=_LONG),
            single_line,
        ],
        filters=[strip],
        render_kw={"maxlength": 200, "autocomplete": "off"},
    )
    institution = StringField(
        _l("Institution (optional)"),
        validators=[Optional(), Length(max=200, message=_LONG), single_line],
        filters=[strip],
        render_kw={"maxlength": 200, "autocomplete": "off"},
    )
    country = SelectField(_l("Country"), validate_choice=True)
    languages = ChecklistField(_l("Languages they read"), validators=[_some_language])
    email = EmailField(
        _l("Email address"),
        validators=[
            InputRequired(_l("Please enter an email address.")),
            Length(max=254, message=_LONG),
            single_line,
            Email(message=_l("Please enter a valid email address."), check_deliverability=False),
        ],
        filters=[strip],
        render_kw={"maxlength": 254, "autocomplete": "off"},
    )
    profile_url = StringField(
        _l("Public profile (optional)"),
        validators=[Optional(), Length(max=300, message=_LONG), single_line, https_link],
        filters=[strip],
        render_kw={"maxlength": 300, "type": "url", "autocomplete": "off"},
    )
    time_zone = StringField(
        _l("Time zone"),
        default="Europe/Brussels",
        validators=[
            InputRequired(_l("Please enter a time zone such as Europe/Brussels.")),
            Length(max=64, message=_LONG),
            single_line,
            _time_zone,
        ],
        filters=[strip],
        render_kw={"maxlength": 64, "autocomplete": "off", "list": "time-zones"},
    )

    def fill_choices(self, target: Target | None) -> None:
        """Kinds (an MEP stays an MEP; others are never made MEPs: those come from the import),
        countries by their name in the page's language, and languages."""
        if target is not None and target.kind == TargetKind.MEP:
            kinds = [TargetKind.MEP]
        else:
            kinds = [kind for kind in TargetKind if kind != TargetKind.MEP]
        self.kind.choices = [(kind.value, str(KIND_LABELS[kind])) for kind in kinds]
        self.country.choices = [("", str(_l("EU-wide (no country)")))] + [
            (code, name) for code, name in country_choices() if code in TARGET_COUNTRIES
        ]
        self.languages.choices = sorted(
            ((code, language_label(code)) for code in TARGET_LANGUAGES), key=lambda c: c[1]
        )

    def load(self, target: Target) -> None:
        for name in ("name", "role", "institution", "email", "profile_url", "time_zone"):
            getattr(self, name).data = getattr(target, name) or ""
        self.kind.data = str(target.kind)
        self.country.data = target.country or ""
        self.languages.data = target.language_list

    def values(self, target: Target | None) -> dict[str, object]:
        """What to store: the languages in the target's order of preference, new ones after."""
        kept = [
            code for code in (target.language_list if target else []) if code in self.languages.data
        ]
        added = [code for code in self.languages.data if code not in kept]
        return {
            "kind": TargetKind(self.kind.data),
            "name": self.name.data,
            "role": self.role.data,
            "institution": self.institution.data or "",
            "country": self.country.data or None,
            "languages": " ".join(kept + added),
            "email": self.email.data.lower(),
            "profile_url": self.profile_url.data or None,
            "time_zone": self.time_zone.data,
        }


# --- The list's filters ----------------------------------------------------------------------

STATUSES = {
    "active": _l("Active"),
    "inactive": _l("Left office or deactivated"),
    "all": _l("All"),
}


class TargetFilters:
    """The list's filters from the query string; a value that is not a choice is ignored."""

    names = ("country", "group", "committee", "kind", "status")

    def __init__(self, args: Mapping[str, str], groups: list[str], committees: list[str]) -> None:
        def pick(name: str, allowed: object) -> str:
            value = args.get(name, "")
            return value if value in allowed else ""

        self.country = pick("country", TARGET_COUNTRIES)
        self.group = pick("group", groups)
        self.committee = pick("committee", committees)
        self.kind = pick("kind", {kind.value for kind in TargetKind})
        self.status = pick("status", STATUSES) or "active"
        self.groups, self.committees = groups, committees

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments (those set, and a status other than active)."""
        found = {name: getattr(self, name) for name in self.names if getattr(self, name)}
        if found.get("status") == "active":
            del found["status"]
        return found

    @property
    def country_choices(self) -> list[tuple[str, str]]:
        return [(code, name) for code, name in country_choices() if code in TARGET_COUNTRIES]

    @property
    def kind_choices(self) -> list[tuple[str, str]]:
        return [(kind.value, str(label)) for kind, label in KIND_LABELS.items()]

    @property
    def status_choices(self) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in STATUSES.items()]
