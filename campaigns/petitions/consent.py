"""Consent wording, stored immutably and versioned per language.

The texts live here as translatable strings. The first time a wording is shown in a language it is
stored as a new `ConsentText` version, so a consent record always points at the words the
supporter really saw, even after the wording or its translation changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from campaigns.extensions import db
from campaigns.petitions.models import ConsentRecord, ConsentText

# What every signer agrees to by signing, said twice: in a few short points that the form shows,
# and in full, one tap away. The stored "signature" wording is both, exactly as shown.
SIGNATURE_POINTS = (
    _l("We use your name, email address and country to count your signature."),
    _l("We email you a link to confirm that the signature is yours."),
    _l("We never sell or share your email address. Your name is public only if you tick the box."),
    _l("You can withdraw your signature at any time with the link in our emails."),
)

# purpose -> wording. "signature" is the full processing notice.
CONSENT_WORDING = {
    "signature": _l(
        "We use your name, email address and country only to count your signature, to check that "
        "it is really yours (we email you a confirmation link) and to deliver the petition with "
        "the number of signatures per country. If you write a comment, the campaign team reads "
        "it. If a member network's link brought you here, we note which network, so that it can "
        "see how many people it brought, never who. Signing a drug-policy petition can reveal "
        "your political opinions, so we handle it as sensitive data: we never sell or share your "
        "email address, your name is shown only if you tick the box below, and you can withdraw "
        "your signature at any time with the link in our emails. An unconfirmed signature is "
        "deleted after %(days)d days."
    ),
    # What a supporter agrees to by sending a letter (campaigns.lobbying).
    "letter_delivery": _l(
        "We send your letter to the policymakers listed above, each by email, in your name: they "
        "see your name, your country and your email address, and may answer you directly. We "
        "email you first to check that the letter is really yours, and nothing is sent before "
        "you confirm. Writing about drug policy can reveal your political opinions, so we handle "
        "it as sensitive data: we never sell or share your email address with anyone else. You "
        "can withdraw your letter with the link in our emails; letters already delivered cannot "
        "be called back."
    ),
    "public_name": _l("Show my name publicly on the petition page."),
    "newsletter": _l(
        "Keep me informed by email about this and other campaigns of the network. "
        "I can unsubscribe at any time."
    ),
}

# The "may contact me" consent given to one member network (purpose "network:<id>"), with the
# network's name filled in: a new name is a new wording, so a new stored version.
NETWORK_CONTACT_WORDING = _l(
    "%(network)s, a member network of the European Network of People who Use Drugs, may contact "
    "me by email about its work. It sees my name, email address and country. I can withdraw this "
    "at any time with the link in the emails."
)
NETWORK_PURPOSE_PREFIX = "network:"


def network_purpose(network_id: int) -> str:
    """The consent purpose of "<network> may contact me" (fits ConsentText.purpose's 40)."""
    return f"{NETWORK_PURPOSE_PREFIX}{network_id}"


@dataclass(frozen=True)
class NetworkConsent:
    """A signer's choice on the box "<network> may contact me", as the form showed it."""

    network_id: int
    network_name: str
    granted: bool


@dataclass(frozen=True)
class DataUseNotice:
    """The processing notice as the petition form shows it: short points, then the full text."""

    points: tuple[str, ...]
    full: str

    def as_shown(self) -> str:
        """The one text a consent record points at: every word the form showed, in its order."""
        return "\n".join(f"- {point}" for point in self.points) + "\n\n" + self.full


def data_use_notice(locale: str) -> DataUseNotice:
    """The signing notice in `locale`, with today's settings filled in.

    Remembered per app: the catalogues and the settings only change with a new process, and
    switching the locale to translate costs more than the rest of recording a consent."""
    cache = current_app.extensions.setdefault("consent_wording", {})
    notice = cache.get(("signature", locale))
    if notice is None:
        with force_locale(locale):
            points = tuple(str(point) for point in SIGNATURE_POINTS)
            full = str(CONSENT_WORDING["signature"])
        days = current_app.config["UNCONFIRMED_RETENTION_DAYS"]
        notice = DataUseNotice(points=points, full=full % {"days": days})
        cache[("signature", locale)] = notice
    return notice


def wording(purpose: str, locale: str) -> str:
    """The exact text shown for `purpose` in `locale` (see `data_use_notice` for "signature")."""
    if purpose == "signature":
        return data_use_notice(locale).as_shown()
    cache = current_app.extensions.setdefault("consent_wording", {})
    text = cache.get((purpose, locale))
    if text is None:
        with force_locale(locale):
            text = str(CONSENT_WORDING[purpose])
        cache[(purpose, locale)] = text
    return text


def network_wording(network_name: str, locale: str) -> str:
    """The exact text of the box "<network> may contact me" in `locale`."""
    cache = current_app.extensions.setdefault("consent_wording", {})
    template = cache.get((NETWORK_PURPOSE_PREFIX, locale))
    if template is None:
        with force_locale(locale):
            template = str(NETWORK_CONTACT_WORDING)
        cache[(NETWORK_PURPOSE_PREFIX, locale)] = template
    return template % {"network": network_name}


def consent_text_id(purpose: str, locale: str, text: str | None = None) -> int:
    """The id of the stored version of today's wording, storing it first if it is new. `text`:
    the wording when it is not one of CONSENT_WORDING's (a network's, see network_wording)."""
    if text is None:
        text = wording(purpose, locale)
    digest = hashlib.sha256(text.encode()).hexdigest()
    cache = current_app.extensions.setdefault("consent_text_ids", {})
    cache_key = (purpose, locale, digest)
    if cache_key in cache:
        return cache[cache_key]
    lookup = select(ConsentText.id).where(
        ConsentText.purpose == purpose,
        ConsentText.locale == locale,
        ConsentText.text_sha256 == digest,
    )
    text_id = db.session.scalar(lookup)
    if text_id is not None:
        # Only ids read back from the database are remembered: a row inserted below belongs to a
        # transaction that may still roll back.
        cache[cache_key] = text_id
    else:
        latest = db.session.scalar(
            select(func.max(ConsentText.version)).where(
                ConsentText.purpose == purpose, ConsentText.locale == locale
            )
        )
        try:
            with db.session.begin_nested():
                row = ConsentText(
                    purpose=purpose,
                    locale=locale,
                    version=(latest or 0) + 1,
                    text=text,
                    text_sha256=digest,
                )
                db.session.add(row)
            text_id = row.id
        except IntegrityError:  # another request stored the same wording a moment ago
            text_id = db.session.scalar(lookup)
    return text_id


def record_consents(
    signature_id: int,
    locale: str,
    choices: dict[str, bool],
    recorded_at: datetime,
    network: NetworkConsent | None = None,
) -> None:
    """Store what the signer was shown (in `locale`) and what they chose, for each purpose, and
    for the box "<network> may contact me" when the form showed it (ticked or not: what was
    shown and chosen is what demonstrates a consent)."""
    rows = [
        {
            "signature_id": signature_id,
            "consent_text_id": consent_text_id(purpose, locale),
            "granted": granted,
            "recorded_at": recorded_at,
            "network_id": None,
        }
        for purpose, granted in choices.items()
    ]
    if network is not None:
        rows.append(
            {
                "signature_id": signature_id,
                "consent_text_id": network_text_id(network, locale),
                "granted": network.granted,
                "recorded_at": recorded_at,
                "network_id": network.network_id,
            }
        )
    db.session.execute(_INSERT_CONSENT, rows)


def network_text_id(network: NetworkConsent, locale: str) -> int:
    """The stored version of the wording of the box "<network> may contact me" in `locale`."""
    text = network_wording(network.network_name, locale)
    return consent_text_id(network_purpose(network.network_id), locale, text)


_INSERT_CONSENT = ConsentRecord.__table__.insert()
