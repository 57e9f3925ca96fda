"""Who receives a mailing.

Only supporters who ticked "keep me informed" on a confirmed signature, and whose address is not
suppressed. Staff narrow that down by campaigns, countries, languages and source networks. One
address gets one copy, however many petitions it signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, exists, func, select, update

from campaigns.core.db import insert_unless_present, sha256_hex
from campaigns.core.mail import first_name
from campaigns.extensions import db
from campaigns.mailings.models import Delivery, Mailing, Suppression
from campaigns.mailings.suppression import suppressed_among
from campaigns.networks.models import Network
from campaigns.petitions.models import (
    ConsentRecord,
    ConsentText,
    Petition,
    Signature,
    SignatureStatus,
)

NEWSLETTER = "newsletter"


@dataclass(frozen=True)
class Audience:
    campaign_ids: list[int] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    locales: list[str] = field(default_factory=list)
    network_ids: list[int] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict | None) -> Audience:
        data = data or {}
        return cls(
            campaign_ids=[int(v) for v in data.get("campaign_ids", [])],
            countries=[str(v) for v in data.get("countries", [])],
            locales=[str(v) for v in data.get("locales", [])],
            network_ids=[int(v) for v in data.get("network_ids", [])],
        )

    def to_dict(self) -> dict:
        return {
            "campaign_ids": self.campaign_ids,
            "countries": self.countries,
            "locales": self.locales,
            "network_ids": self.network_ids,
        }


def _consenting_signatures(audience: Audience) -> Select:
    newsletter_granted = exists().where(
        ConsentRecord.signature_id == Signature.id,
        ConsentRecord.granted.is_(True),
        ConsentRecord.consent_text_id == ConsentText.id,
        ConsentText.purpose == NEWSLETTER,
    )
    query = select(
        Signature.id,
        Signature.email,
        Signature.name,
        Signature.locale,
        Signature.source_network_id,
    ).where(
        Signature.status == SignatureStatus.CONFIRMED,
        Signature.email.is_not(None),
        newsletter_granted,
    )
    if audience.campaign_ids:
        query = query.join(Petition, Petition.id == Signature.petition_id).where(
            Petition.campaign_id.in_(audience.campaign_ids)
        )
    if audience.countries:
        query = query.where(Signature.country.in_(audience.countries))
    if audience.locales:
        query = query.where(Signature.locale.in_(audience.locales))
    if audience.network_ids:
        query = query.where(Signature.source_network_id.in_(audience.network_ids))
    return query


def count_recipients(audience: Audience) -> int:
    """Distinct addresses the mailing would go to now (suppressions left out), counted by the
    database: the staff pages ask on every view, and an audience may be millions."""
    emails = (
        _consenting_signatures(audience).with_only_columns(Signature.email).distinct().subquery()
    )
    # Signatures keep addresses normalised, as the suppression list's digest expects.
    suppressed = exists().where(Suppression.email_digest == sha256_hex(emails.c.email))
    return db.session.scalar(select(func.count()).select_from(emails).where(~suppressed))


def extend_recipient_list(mailing: Mailing, batch_size: int = 2000) -> bool:
    """Add the next batch of recipients to the mailing's delivery list, resuming after the last
    signature looked at, and commit. Returns False once the list is complete.

    Workers sending the same mailing may call this at the same time: the cursor moves with a
    conditional update, so only one of them adds a given batch."""
    cursor = mailing.audience_cursor
    rows = db.session.execute(
        _consenting_signatures(Audience.from_dict(mailing.audience))
        .where(Signature.id > cursor)
        .order_by(Signature.id)
        .limit(batch_size)
    ).all()
    moved = db.session.execute(
        update(Mailing)
        .where(Mailing.id == mailing.id, Mailing.audience_cursor == cursor)
        .values(
            audience_cursor=rows[-1].id if rows else cursor,
            audience_complete=not rows,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # another worker took this batch
        db.session.rollback()
        db.session.refresh(mailing)
        return not mailing.audience_complete
    if rows:
        _insert_deliveries(mailing.id, rows)
    db.session.commit()  # batch sending: each chunk of recipients is a transaction of its own
    db.session.refresh(mailing)
    return bool(rows)


def _insert_deliveries(mailing_id: int, rows: list) -> None:
    suppressed = suppressed_among(row.email for row in rows)
    already = set(
        db.session.scalars(
            select(Delivery.email).where(
                Delivery.mailing_id == mailing_id,
                Delivery.email.in_({row.email for row in rows}),
            )
        )
    )
    source_codes = dict(db.session.execute(select(Network.id, Network.slug)).all())
    new = {}
    for row in rows:
        if row.email in suppressed or row.email in already or row.email in new:
            continue
        new[row.email] = {
            "mailing_id": mailing_id,
            "email": row.email,
            "locale": row.locale,
            "first_name": first_name(row.name),
            "signature_id": row.id,
            "source_code": source_codes.get(row.source_network_id),
        }
    if new:
        # Another worker's batch may hold the same address (signed under a later id): the
        # unique key keeps one, and this insert leaves it be.
        db.session.execute(insert_unless_present(Delivery), list(new.values()))
