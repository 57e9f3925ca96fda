from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError

from campaigns.core.db import parse_id
from campaigns.core.forms import single_line, strip
from campaigns.core.i18n import country_choices
from campaigns.networks.models import Network
from campaigns.petitions.consent import CONSENT_WORDING
from campaigns.petitions.network_consent import NetworkOffer, offer_for


class SignatureForm(FlaskForm):
    class Meta:
        # CSRFProtect checks the token of every POST before any view runs (and an expired one
        # gets the form back, see petitions.views.expired_form). A token field of the form's own
        # would check it again, and sign a new token for every POST, used by none that succeeds.
        csrf = False

    name = StringField(
        _l("Your name"),
        validators=[
            InputRequired(_l("Please enter your name.")),
            Length(max=120, message=_l("Please use at most %(max)d characters.")),
            single_line,
        ],
        filters=[strip],
        render_kw={"autocomplete": "name", "maxlength": 120},
    )
    email = EmailField(
        _l("Your email address"),
        validators=[
            InputRequired(_l("Please enter your email address.")),
            Length(max=254, message=_l("Please use at most %(max)d characters.")),
            Email(
                message=_l("Please enter a valid email address, like name@example.org."),
                check_deliverability=False,
            ),
        ],
        filters=[strip],
        render_kw={"autocomplete": "email", "maxlength": 254},
    )
    country = SelectField(
        _l("Your country"),
        validators=[InputRequired(_l("Please choose your country."))],
        validate_choice=False,  # _known_country says it more clearly
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        validators=[
            Optional(),
            Length(max=1000, message=_l("Please use at most %(max)d characters.")),
        ],
        render_kw={"rows": 3, "maxlength": 1000},
    )
    show_name = BooleanField(CONSENT_WORDING["public_name"], default=False)
    newsletter = BooleanField(CONSENT_WORDING["newsletter"], default=False)
    # "<network> may contact me": unticked, and labelled with the network's own wording by the
    # template (see network_offer); the hidden field names the network the label named.
    network_consent = BooleanField(default=False)
    network_consent_for = HiddenField()
    # Attribution to the member network that brought the signer (from ?source=).
    source = HiddenField()
    # A field people never see; bots fill it in.
    website = StringField(
        _l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("Choose your country")), *country_choices()]

    def validate_country(self, field: SelectField) -> None:
        if field.data not in {code for code, _label in field.choices if code}:
            raise ValidationError(_l("Please choose your country from the list."))

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)

    @property
    def network_consent_id(self) -> int | None:
        """The network the submitted box was for (unchecked: the server checks it may be)."""
        return parse_id(self.network_consent_for.data)

    def network_offer(
        self,
        consent_network: Network | None = None,
        country_offers: dict[str, NetworkOffer] | None = None,
        locale: str | None = None,
    ) -> NetworkOffer | None:
        """The box to show: for the network that brought the signer if there is one (it stays,
        whatever country is chosen), else for the chosen country's network (after a validation
        error the page shows it again without JavaScript), else none yet."""
        if consent_network is not None:
            # Only a network that may take the consent gets a box (never the umbrella network).
            if not consent_network.is_active or consent_network.is_umbrella:
                return None
            return offer_for(consent_network, locale or str(get_locale()))
        return (country_offers or {}).get(self.country.data or "")

    def network_consent_ticked(self, offer: NetworkOffer) -> bool:
        """Ticked on the page shown again only if it was ticked for this very network."""
        return bool(self.network_consent.data) and self.network_consent_id == offer.network_id
