"""The supporters a member network may contact: those who ticked "<network> may contact me"
for THAT network, confirmed it with their email address and have not withdrawn it.

This is the one exception to "a network sees how many people it brought, never who", and it
rests on each supporter's own consent, so every query here starts from the consent record and
asks all of it: given (granted), confirmed by the supporter's address, not withdrawn, given to
this network; and a signature still confirmed, not erased by "it wasn't me". A withdrawal (the
supporter's preferences page) is a row update, so it disappears from the next page and the next
export at once. One row per person (email address), like the API's people: a supporter who gave
it on two campaigns is one row, listing both campaigns, with their first consent and their
latest confirmation.

The CSV is streamed in keyset batches and neutralised against spreadsheet formulas, as the
signature export (exports.csv_export) is.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, distinct, func, select
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
)
from campaigns.petitions.sharing import consenting


@dataclass(frozen=True)
class SharedSupporter:
    """One person (one email address) and every consent they gave this network."""

    name: str  # as written on their latest consent's signature
    email: str
    country: str  # of their latest consent's signature
    campaigns: tuple[str, ...]  # where they consented, in the order they did, titled in the
    # reader's language
    first_given: datetime  # when they first ticked the box (that signature was sent)
    last_confirmed: datetime  # when their address last confirmed a consent
    locale: str  # the language they last signed in (and read the consent in)
    wordings: tuple[str, ...]  # each stored wording they saw: "<language> v<version>"


_ROW_COLUMNS = (
    Signature.email,
    Signature.name,
    Signature.country,
    Petition.campaign_id,
    ConsentRecord.recorded_at,
    ConsentRecord.confirmed_at,
    ConsentText.locale,
    ConsentText.version,
)


def _consents_of(network_id: int, emails: list[str]) -> dict[str, list[Row]]:
    """Every consent these addresses gave this network, by address, oldest first."""
    query = (
        consenting(network_id, *_ROW_COLUMNS)
        .join(Petition, Petition.id == Signature.petition_id)
        .join(ConsentText, ConsentText.id == ConsentRecord.consent_text_id)
        .where(Signature.email.in_(emails))
        .order_by(ConsentRecord.id)
    )
    consents: dict[str, list[Row]] = defaultdict(list)
    for row in db.session.execute(query):
        consents[row.email].append(row)
    return consents


def _people(network_id: int, emails: list[str], titles: dict[int, str]) -> list[SharedSupporter]:
    """These addresses as people, in the order given (one withdrawn since it was listed is left
    out)."""
    consents = _consents_of(network_id, emails)
    return [_supporter(consents[email], titles) for email in emails if consents[email]]


def _supporter(given: list[Row], titles: dict[int, str]) -> SharedSupporter:
    latest = given[-1]
    return SharedSupporter(
        name=latest.name or "",
        email=latest.email,
        country=latest.country,
        campaigns=tuple(dict.fromkeys(titles.get(row.campaign_id, "") for row in given)),
        first_given=min(row.recorded_at for row in given),
        last_confirmed=max(row.confirmed_at for row in given),
        locale=latest.locale,  # the wording's: a returning signer may have read it in another
        wordings=tuple(dict.fromkeys(f"{row.locale} v{row.version}" for row in given)),
    )


def count_people(network_id: int) -> int:
    """How many people (addresses) the network may contact: the rows of its list."""
    return db.session.scalar(consenting(network_id, func.count(distinct(Signature.email))))


def count_shared(network_id: int) -> int:
    """How many consents the network may use (a person who gave it on two campaigns: two)."""
    return db.session.scalar(consenting(network_id, func.count()))


def campaign_titles(locale: str) -> dict[int, str]:
    """Every campaign's title in `locale` (or its default language): there are a few dozen."""
    campaigns = db.session.scalars(select(Campaign).options(selectinload(Campaign.translations)))
    titles = {}
    for campaign in campaigns:
        translation = campaign.translation_for(locale)
        titles[campaign.id] = translation.title if translation else campaign.slug
    return titles


def shared_page(network_id: int, page: int, per_page: int, locale: str) -> list[SharedSupporter]:
    """One page of the list, one row per address, the latest consents first."""
    latest = func.max(ConsentRecord.id)
    query = (
        consenting(network_id, Signature.email)
        .group_by(Signature.email)
        .order_by(latest.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    emails = list(db.session.scalars(query))
    return _people(network_id, emails, campaign_titles(locale))


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
    _l("Campaigns"),
    _l("First consent given at (UTC)"),
    _l("Latest consent confirmed at (UTC)"),
    _l("Language (code)"),
    _l("Consent wording (version)"),
)
# Between the campaigns, and the wordings, of one person's cell.
CELL_SEPARATOR = "; "


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(" ", "seconds")[:19]


def _csv_row(supporter: SharedSupporter) -> list[str]:
    return [
        neutralise(supporter.name),
        neutralise(supporter.email),
        neutralise(supporter.country),
        neutralise(CELL_SEPARATOR.join(supporter.campaigns)),
        _utc(supporter.first_given),
        _utc(supporter.last_confirmed),
        neutralise(supporter.locale),
        # The stored wordings the supporter saw, per language and version (see the page).
        CELL_SEPARATOR.join(supporter.wordings),
    ]


def csv_chunks(network_id: int, locale: str, batch_size: int = BATCH_SIZE) -> Iterator[str]:
    """The CSV in pieces: the header, then one piece per batch of people, by address.

    The keyset is the address itself, so that each address is one row even when consents are
    given or withdrawn while the file streams (a position by consent would move with them)."""
    titles = campaign_titles(locale)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(str(label)) for label in CSV_COLUMNS])
    yield BOM + buffer.getvalue()
    query = (
        consenting(network_id, Signature.email)
        .group_by(Signature.email)
        .order_by(Signature.email)
        .limit(batch_size)
    )
    last_email = ""
    while True:
        emails = list(db.session.scalars(query.where(Signature.email > last_email)))
        people = _people(network_id, emails, titles) if emails else []
        # End the read transaction before handing the chunk over: a slow download must not
        # hold one open (the audit entry was committed by the view before the first byte).
        db.session.commit()
        if not emails:
            return
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_row(supporter) for supporter in people)
        yield buffer.getvalue()
        if len(emails) < batch_size:
            return
        last_email = emails[-1]


def export_filename(slug: str, today: datetime) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", slug)
    return f"{safe}-supporters-{today:%Y-%m-%d}.csv"
