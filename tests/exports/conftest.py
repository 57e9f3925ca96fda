"""Signatures made straight in the database: the export reads rows, not the signing journey
(which has its own tests)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.consent import record_consents
from campaigns.petitions.models import Signature, SignatureStatus


@pytest.fixture
def campaign(demo) -> Campaign:
    return db.session.scalars(
        select(Campaign).where(Campaign.slug == "naloxone-in-every-pocket")
    ).one()


@pytest.fixture
def networks(demo) -> dict[str, Network]:
    return {n.slug: n for n in db.session.scalars(select(Network))}


@pytest.fixture
def add_signature(campaign):
    """add_signature(name=..., country=..., network=..., status=..., signed=..., newsletter=...)"""
    made = iter(range(1, 100_000))

    def add(
        name: str = "Ada Example",
        country: str = "DE",
        network: Network | None = None,
        status: SignatureStatus = SignatureStatus.CONFIRMED,
        signed: datetime | None = None,
        newsletter: bool = False,
        **fields: object,
    ) -> Signature:
        signed = signed or datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        signature = Signature(
            petition_id=campaign.petition.id,
            status=status,
            email=f"signer{next(made)}@example.org",
            name=name,
            country=country,
            locale="en",
            source_network_id=network.id if network else None,
            created_at=signed,
            confirmed_at=signed if status == SignatureStatus.CONFIRMED else None,
            **fields,
        )
        db.session.add(signature)
        db.session.flush()
        record_consents(signature.id, "en", {"newsletter": newsletter}, signed)
        db.session.commit()
        return signature

    return add
