"""The shapes of what a network's key reads of its consenting supporters (OSDI's people and
signatures, with only what the supporter agreed to share: name, address, country, language)."""

from __future__ import annotations

import marshmallow as ma

from campaigns.api.schemas import page_schema

F = ma.fields


class EmailAddressSchema(ma.Schema):
    address = F.String(required=True, metadata={"format": "email"})
    primary = F.Boolean(required=True)


class PostalAddressSchema(ma.Schema):
    country = F.String(required=True, metadata={"description": "ISO 3166-1 alpha-2."})


class ConsentSchema(ma.Schema):
    """One "<network> may contact me", given while signing one petition."""

    petition = F.String(required=True, metadata={"description": "The petition's slug."})
    given_date = F.AwareDateTime(required=True, metadata={"description": "The box was ticked."})
    confirmed_date = F.AwareDateTime(
        required=True, metadata={"description": "The supporter's address confirmed it."}
    )
    wording_version = F.Integer(
        required=True, metadata={"description": "Which version of the wording they read."}
    )
    language = F.String(required=True, metadata={"description": "The language they read it in."})


class PersonFieldsSchema(ma.Schema):
    name = F.String(
        required=True, metadata={"description": "As written: the platform keeps one name field."}
    )
    email_addresses = F.List(F.Nested(EmailAddressSchema), required=True)
    postal_addresses = F.List(F.Nested(PostalAddressSchema), required=True)
    languages_spoken = F.List(F.String(), required=True)


class PersonSchema(PersonFieldsSchema):
    identifiers = F.List(
        F.String(),
        required=True,
        metadata={"description": "Stable for this network; another network sees another."},
    )
    created_date = F.AwareDateTime(required=True)
    modified_date = F.AwareDateTime(
        required=True, metadata={"description": "Their latest consent's confirmation."}
    )
    consents = F.List(F.Nested(ConsentSchema), required=True)


class SignatureSchema(ma.Schema):
    identifiers = F.List(F.String(), required=True)
    created_date = F.AwareDateTime(required=True)
    modified_date = F.AwareDateTime(required=True)
    person = F.Nested(PersonFieldsSchema, required=True)
    consent = F.Nested(ConsentSchema, required=True)


PersonPageSchema = page_schema("PersonPage", "osdi:people", PersonSchema)
SignaturePageSchema = page_schema("SignaturePage", "osdi:signatures", SignatureSchema)
