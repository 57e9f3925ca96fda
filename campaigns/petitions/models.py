from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime
from campaigns.extensions import db


class Petition(db.Model):
    __tablename__ = "petitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id"), unique=True, nullable=False
    )
    goal: Mapped[int] = mapped_column(Integer, nullable=False)
    deadline: Mapped[date | None] = mapped_column(Date)
    # Show progress against the European Citizens' Initiative thresholds (1,000,000 signatures,
    # and the per-country minimums in data/eci_thresholds.csv in at least 7 member states).
    eci_progress: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    campaign = relationship("Campaign", back_populates="petition")


class SignatureStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Signature(TimestampMixin, db.Model):
    """One person's signature on one petition, deduplicated by normalised email.

    Rejecting ("it wasn't me") erases the personal data but keeps the row, so the counts and the
    consent history stay explainable."""

    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("petition_id", "email"),
        Index("ix_signatures_tally", "petition_id", "status", "country"),
        # The latest confirmations first: the public list of signers, the rebuild's recent window.
        Index("ix_signatures_confirmed", "petition_id", "confirmed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), nullable=False)
    status: Mapped[SignatureStatus] = mapped_column(
        Enum(
            SignatureStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=SignatureStatus.PENDING,
        nullable=False,
    )
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    show_name: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    source_network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), index=True)
    # The page the supporter signed on (no query string), part of the double opt-in record.
    source_url: Mapped[str | None] = mapped_column(String(300))
    confirmation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    petition: Mapped[Petition] = relationship()
    source_network = relationship("Network")
    consents: Mapped[list[ConsentRecord]] = relationship(back_populates="signature")


class ConsentText(TimestampMixin, db.Model):
    """The exact wording shown to a supporter for one purpose in one language. Never edited:
    a new wording is a new version, so every consent record points at what was really shown."""

    __tablename__ = "consent_texts"
    __table_args__ = (
        UniqueConstraint("purpose", "locale", "version"),
        UniqueConstraint("purpose", "locale", "text_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    text_sha256: Mapped[str] = mapped_column(String(64), nullable=False)


class ConsentRecord(db.Model):
    """What a supporter was shown and chose for one purpose, and when their email confirmed it."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id"), nullable=False, index=True
    )
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_texts.id"), nullable=False)
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # For a "network may contact me" consent: the network it was given to.
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), index=True)
    # When the supporter withdrew it (their preferences page); a withdrawn consent shares nothing.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    signature: Mapped[Signature] = relationship(back_populates="consents")
    consent_text: Mapped[ConsentText] = relationship()
