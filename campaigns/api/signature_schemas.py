"""The shapes of recording a signature through the API (OSDI's record signature): the
body a network's server posts, the `Idempotency-Key` header and the answer.

The schemas check the shape (types, what is required, the list of countries); the content is
checked by the signing form itself (`SignatureForm`, see signature_views), so that a signature
posted here passes exactly the checks, and gets exactly the messages, of one typed on the
petition page. Where a schema says a message it is the form's own wording (the same
translations). Lengths are documented here and enforced by the form.

Only what the platform keeps is read: OSDI's other person fields (phone numbers, custom fields,
tags...) are accepted and ignored, never stored.
"""

from __future__ import annotations

import re

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from campaigns.api.schemas import LinkSchema
from campaigns.core.i18n import OTHER_COUNTRY, SIGNER_COUNTRIES

F = ma.fields

NAME_MAX = 120  # the form's limit, for the whole name
EMAIL_MAX = 254
COMMENT_MAX = 1000
IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7E]{1,255}$"

# A name, an address, a code: one line, nothing invisible (a line break could start a mail
# header). A comment may have line breaks and tabs, nothing else invisible.
_SINGLE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _single_line(value: str) -> None:
    if _SINGLE_LINE_FORBIDDEN.search(value):
        raise ma.ValidationError(
            str(_l("Please write this on a single line, without control characters."))
        )


def _no_control_characters(value: str) -> None:
    if _TEXT_FORBIDDEN.search(value):
        raise ma.ValidationError(str(_l("Please remove the invisible control characters.")))


def _strict_boolean(description: str) -> F.Boolean:
    # true or false only: "yes", 1 or "on" for a consent would be guessing what was meant.
    return F.Boolean(
        truthy={True},
        falsy={False},
        load_default=False,
        metadata={"description": description},
    )


class _OneOfSeveralAddresses(ma.Schema):
    """OSDI sends addresses as lists; the one marked primary is used, else the first."""

    class Meta:
        unknown = ma.EXCLUDE

    primary = F.Boolean(
        truthy={True},
        falsy={False},
        metadata={"description": "The address used when several are sent (else the first)."},
    )


class SigningEmailAddressSchema(_OneOfSeveralAddresses):
    address = F.String(
        required=True,
        validate=_single_line,
        error_messages={"required": _l("Please enter your email address.")},
        metadata={
            "description": "Where the confirmation mail goes.",
            "format": "email",
            "maxLength": EMAIL_MAX,
            "example": "ada@example.org",
        },
    )


class SigningPostalAddressSchema(_OneOfSeveralAddresses):
    country = F.String(
        required=True,
        validate=ma.validate.OneOf(
            [*SIGNER_COUNTRIES, OTHER_COUNTRY],
            error=_l("Please choose your country from the list."),
        ),
        error_messages={"required": _l("Please choose your country.")},
        metadata={
            "description": "ISO 3166-1 alpha-2, one of the signing form's countries (ZZ: "
            "another country).",
            "example": "DE",
        },
    )


class SigningPersonSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    given_name = F.String(
        required=True,
        validate=_single_line,
        error_messages={"required": _l("Please enter your name.")},
        metadata={
            "description": f"With family_name, the signer's name: at most {NAME_MAX} "
            "characters in all.",
            "maxLength": NAME_MAX,
            "example": "Ada",
        },
    )
    family_name = F.String(
        load_default="",
        validate=_single_line,
        metadata={"maxLength": NAME_MAX, "example": "Lovelace"},
    )
    email_addresses = F.List(
        F.Nested(SigningEmailAddressSchema),
        required=True,
        validate=ma.validate.Length(min=1, error=_l("Please enter your email address.")),
        error_messages={"required": _l("Please enter your email address.")},
    )
    postal_addresses = F.List(
        F.Nested(SigningPostalAddressSchema),
        required=True,
        validate=ma.validate.Length(min=1, error=_l("Please choose your country.")),
        error_messages={"required": _l("Please choose your country.")},
        metadata={"description": "Only the country is read."},
    )
    languages_spoken = F.List(
        F.String(validate=_single_line),
        load_default=list,
        metadata={
            "description": "The first one, if the platform speaks it, is the language of the "
            "confirmation mail and of the consent texts recorded; otherwise the campaign's "
            "own language.",
            "example": ["de"],
        },
    )


class SigningConsentsSchema(ma.Schema):
    public_name = _strict_boolean("Show the name publicly on the petition page.")
    newsletter = _strict_boolean("Keep me informed by email about this and other campaigns.")
    network_contact = F.Boolean(
        truthy={True},
        falsy={False},
        metadata={
            "description": "The key's network may contact the signer. Send it (true or false) "
            "only if your form showed the box, worded as the platform words it in the "
            "signer's language; it is then recorded with that wording, as the petition page "
            "records its box. Left out: no box was shown, nothing is recorded. Only a member "
            "network takes this consent."
        },
    )


def _as_lists(messages: dict) -> None:
    """Every field's messages as a list of strings, as marshmallow's own are: a translated
    message (lazy until the request's language is known) is not a `str`, so marshmallow leaves
    it bare."""
    for name, value in messages.items():
        if isinstance(value, dict):
            _as_lists(value)
        else:
            messages[name] = [str(item) for item in (value if isinstance(value, list) else [value])]


class SigningRequestSchema(ma.Schema):
    """A person signing on a network's own form, and their choices."""

    def handle_error(self, error: ma.ValidationError, data: object, **kwargs: object) -> None:
        if isinstance(error.messages, dict):
            _as_lists(error.messages)

    person = F.Nested(SigningPersonSchema, required=True)
    comments = F.String(
        load_default="",
        validate=_no_control_characters,
        metadata={"description": "Optional, for the campaign team.", "maxLength": COMMENT_MAX},
    )
    consents = F.Nested(
        SigningConsentsSchema,
        load_default=dict,
        metadata={"description": "Each choice is false unless sent as true."},
    )


class IdempotencyHeaderSchema(ma.Schema):
    idempotency_key = F.String(
        data_key="Idempotency-Key",
        validate=ma.validate.Regexp(
            IDEMPOTENCY_KEY_PATTERN, error="Use 1 to 255 visible ASCII characters (a UUID)."
        ),
        metadata={
            "description": "Any unique value (a UUID). The same key with the same body within "
            "24 hours gets the first answer again, marked `Idempotent-Replayed: true`, and "
            "nothing is signed or sent twice; with another body, or while the first request "
            "is still running, a 409 problem."
        },
    )


class SigningLinksSchema(ma.Schema):
    petition = F.Nested(LinkSchema, required=True, data_key="osdi:petition")
    counts = F.Nested(LinkSchema, required=True)


class SigningAcceptedSchema(ma.Schema):
    """The same answer whether or not the address had signed before: whether it has is its
    owner's business, and the mail tells them."""

    status = F.String(
        required=True,
        validate=ma.validate.OneOf(["awaiting_confirmation"]),
        metadata={"example": "awaiting_confirmation"},
    )
    detail = F.String(required=True)
    petition = F.String(required=True, metadata={"description": "The petition's slug."})
    language = F.String(
        required=True, metadata={"description": "The language of the mail and the consents."}
    )
    links = F.Nested(SigningLinksSchema, data_key="_links", attribute="_links", required=True)
