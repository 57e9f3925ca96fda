from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime, utcnow
from campaigns.extensions import db


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    PAUSED = "paused"
    CLOSED = "closed"
    DELIVERED = "delivered"


# Statuses in which the public page is visible (a paused campaign shows, but takes no signatures).
PUBLIC_STATUSES = (
    CampaignStatus.LIVE,
    CampaignStatus.PAUSED,
    CampaignStatus.CLOSED,
    CampaignStatus.DELIVERED,
)


class CampaignKind(enum.StrEnum):
    PETITION = "petition"  # supporters sign; the count is delivered
    LETTER = "letter"  # each supporter's letter goes to policymakers (campaigns.lobbying)


class TranslationStatus(enum.StrEnum):
    DRAFT = "draft"
    READY = "ready"


class Campaign(TimestampMixin, db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    status: Mapped[CampaignStatus] = mapped_column(
        Enum(
            CampaignStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=CampaignStatus.DRAFT,
        nullable=False,
        index=True,
    )
    kind: Mapped[CampaignKind] = mapped_column(
        Enum(
            CampaignKind,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=CampaignKind.PETITION,
        server_default=CampaignKind.PETITION.value,
        nullable=False,
    )
    default_locale: Mapped[str] = mapped_column(String(8), default="en", nullable=False)
    lead_network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"))
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the staff wrote when handing the petition over (state "delivered"): to whom, when, how.
    delivery_note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # What the API's `modified_date` says (and filters on): any change to the campaign row, and
    # to its texts or settings kept elsewhere, which bump it by hand (`touch`).
    modified_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False, index=True
    )

    lead_network = relationship("Network")
    state_changes: Mapped[list[CampaignStateChange]] = relationship(
        back_populates="campaign", order_by="CampaignStateChange.changed_at"
    )
    translations: Mapped[list[CampaignTranslation]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        order_by="CampaignTranslation.locale",
    )
    petition = relationship("Petition", back_populates="campaign", uselist=False)
    letter_action = relationship("LetterAction", back_populates="campaign", uselist=False)

    def touch(self) -> None:
        """Something the API shows changed outside this row (a text, the petition's goal)."""
        self.modified_at = utcnow()

    def translation_for(self, locale: str) -> CampaignTranslation | None:
        """The text in `locale` when it is ready, else the default language's (callers say so)."""
        by_locale = {t.locale: t for t in self.translations if t.status == TranslationStatus.READY}
        return by_locale.get(locale) or by_locale.get(self.default_locale)

    @property
    def ready_locales(self) -> list[str]:
        return [t.locale for t in self.translations if t.status == TranslationStatus.READY]

    def __repr__(self) -> str:
        return f"<Campaign {self.slug}>"


class CampaignTranslation(db.Model):
    __tablename__ = "campaign_translations"
    __table_args__ = (UniqueConstraint("campaign_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[TranslationStatus] = mapped_column(
        Enum(
            TranslationStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=TranslationStatus.DRAFT,
        nullable=False,
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(String(500), nullable=False)
    # Who the action addresses, e.g. "Members of the European Parliament's Public Health committee".
    target: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    body_markdown: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # A letter action's letter in this language (plain text; empty for a petition).
    letter_subject: Mapped[str] = mapped_column(
        String(200), nullable=False, default="", server_default=""
    )
    letter_body: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")

    campaign: Mapped[Campaign] = relationship(back_populates="translations")


class CampaignStateChange(db.Model):
    """Every change of a campaign's status: from what, to what, by whom, when (never edited)."""

    __tablename__ = "campaign_state_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), nullable=False, index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="state_changes")
    changed_by = relationship("StaffUser")
