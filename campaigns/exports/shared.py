"""The supporters a member network may contact: those who ticked "<network> may contact me"
for THAT network, confirmed it with their email address and have not withdrawn it.

This is the one exception to "a network sees how many people it brought, never who", and it
rests on each supporter's own consent, so every query here starts from the consent record and
asks all of it: given (granted), confirmed by the supporter's address, not withdrawn, given to
this network; and a signature still confirmed, not erased by "it wasn't me". A withdrawal (the
supporter's preferences page) is a row update, so it disappears from the next page and the next
export at once. One row per consent: a supporter who gave it on two campaigns is listed twice,
each with the campaign where they gave it.

The CSV is streamed in keyset batches and neutralised against spreadsheet formulas, as the
signature export (exports.csv_export) is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import selectinload

from campaigns.campaign.models import Campaign
from campaigns.exports.csv_export import BATCH_SIZE, BOM, neutralise
from campaigns.extensions import db
from campaigns.petitions.consent import network_purpose
from campaigns.petitions.models import (
    ConsentRecord,
    ConsentText,
    Petition,
    Signature,
    SignatureStatus,
)


@dataclass(frozen=True)
class SharedSupporter:
    consent_id: int
    name: str
    email: str
    country: str
    campaign: str  # its title in the reader's language
    consented_at: datetime  # when the box was ticked (the signature was sent)
    confirmed_at: datetime  # when the supporter's address confirmed it
    locale: str  # the language they signed in, and read the consent in
    wording_version: int


def _conditions(network_id: int) -> list[ColumnElement[bool]]:
    return [
        ConsentRecord.network_id == network_id,
        ConsentRecord.granted.is_(True),
        ConsentRecord.confirmed_at.is_not(None),
        ConsentRecord.withdrawn_at.is_(None),
        Signature.status == SignatureStatus.CONFIRMED,
        # "It wasn't me" erases the address and sets the status REJECTED; both are asked.
        Signature.email.is_not(None),
    ]


def consenting(network_id: int, *columns: object) -> Select:
    """`columns` of each consent this network may use, with its signature joined (the query every
    reader of shared supporters starts from: this page, the export, the API)."""
    return (
        select(*columns)
        .select_from(ConsentRecord)
        .join(Signature, Signature.id == ConsentRecord.signature_id)
        .where(*_conditions(network_id))
    )


_ROW_COLUMNS = (
    ConsentRecord.id,
    Signature.name,
    Signature.email,
    Signature.country,
    Petition.campaign_id,
    ConsentRecord.recorded_at,
    ConsentRecord.confirmed_at,
    Signature.locale,
    ConsentText.version,
)


def _rows_query(network_id: int) -> Select:
    return (
        consenting(network_id, *_ROW_COLUMNS)
        .join(Petition, Petition.id == Signature.petition_id)
        .join(ConsentText, ConsentText.id == ConsentRecord.consent_text_id)
    )


def count_shared(network_id: int) -> int:
    return db.session.scalar(consenting(network_id, func.count()))


def campaign_titles(locale: str) -> dict[int, str]:
    """Every campaign's title in `locale` (or its default language): there are a few dozen."""
    campaigns = db.session.scalars(select(Campaign).options(selectinload(Campaign.translations)))
    titles = {}
    for campaign in campaigns:
        translation = campaign.translation_for(locale)
        titles[campaign.id] = translation.title if translation else campaign.slug
    return titles


def _supporter(row: tuple, titles: dict[int, str]) -> SharedSupporter:
    consent_id, name, email, country, campaign_id, given, confirmed, locale, version = row
    return SharedSupporter(
        consent_id, name or "", email, country, titles.get(campaign_id, ""), given, confirmed,
        locale, version,
    )  # fmt: skip


def shared_page(network_id: int, page: int, per_page: int, locale: str) -> list[SharedSupporter]:
    """One page of the list, the latest consents first."""
    query = (
        _rows_query(network_id)
        .order_by(ConsentRecord.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    titles = campaign_titles(locale)
    return [_supporter(tuple(row), titles) for row in db.session.execute(query)]


@dataclass(frozen=True)
class StoredWording:
    locale: str
    version: int
    text: str
    stored_at: datetime


def stored_wordings(network_id: int) -> list[StoredWording]:
    """Every wording of this network's box that a supporter was shown, per language and version
    (a new name or a new translation made a new version; the old ones stay, as shown)."""
    query = (
        select(ConsentText.locale, ConsentText.version, ConsentText.text, ConsentText.created_at)
        .where(ConsentText.purpose == network_purpose(network_id))
        .order_by(ConsentText.locale, ConsentText.version)
    )
    return [StoredWording(*row) for row in db.session.execute(query)]


CSV_COLUMNS = (
    _l("Name"),
    _l("Email address"),
    _l("Country (code)"),
    _l("Campaign"),
    _l("Consent given at (UTC)"),
    _l("Confirmed at (UTC)"),
    _l("Language (code)"),
    _l("Consent wording (version)"),
)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(" ", "seconds")[:19]


def _csv_row(supporter: SharedSupporter) -> list[str]:
    return [
        neutralise(supporter.name),
        neutralise(supporter.email),
        neutralise(supporter.country),
        neutralise(supporter.campaign),
        _utc(supporter.consented_at),
        _utc(supporter.confirmed_at),
        neutralise(supporter.locale),
        # The stored wording the supporter saw is this language's version (see the page).
        f"{supporter.locale} v{supporter.wording_version}",
    ]


def csv_chunks(network_id: int, locale: str, batch_size: int = BATCH_SIZE) -> Iterator[str]:
    """The CSV in pieces: the header, then one piece per batch, in the order consents came."""
    titles = campaign_titles(locale)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(str(label)) for label in CSV_COLUMNS])
    yield BOM + buffer.getvalue()
    query = _rows_query(network_id).order_by(ConsentRecord.id).limit(batch_size)
    last_id = 0
    while True:
        rows = db.session.execute(query.where(ConsentRecord.id > last_id)).all()
        # End the read transaction before handing the chunk over: a slow download must not
        # hold one open (the audit entry was committed by the view before the first byte).
        db.session.commit()
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_row(_supporter(tuple(row), titles)) for row in rows)
        yield buffer.getvalue()
        if len(rows) < batch_size:
            return
        last_id = rows[-1][0]


def export_filename(slug: str, today: datetime) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", slug)
    return f"{safe}-supporters-{today:%Y-%m-%d}.csv"
