from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime, utcnow
from campaigns.extensions import db


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class MailingStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # waits for its time; beat claims it
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"


class Mailing(TimestampMixin, db.Model):
    __tablename__ = "mailings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)  # for staff only
    status: Mapped[MailingStatus] = mapped_column(
        _enum(MailingStatus), default=MailingStatus.DRAFT, nullable=False, index=True
    )
    # Who receives it: {"campaign_ids": [...], "countries": [...], "locales": [...],
    # "network_ids": [...]}; an empty list means "any". See mailings.audience.
    audience: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    default_locale: Mapped[str] = mapped_column(String(8), nullable=False, default="en")
    # The campaign the per-person action link points at (optional).
    action_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Building the recipient list resumes from here: the last signature id looked at.
    audience_cursor: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    audience_complete: Mapped[bool] = mapped_column(default=False, nullable=False)

    versions: Mapped[list[MailingVersion]] = relationship(
        back_populates="mailing", cascade="all, delete-orphan", order_by="MailingVersion.locale"
    )
    created_by = relationship("StaffUser")
    action_campaign = relationship("Campaign")

    def version_for(self, locale: str) -> MailingVersion | None:
        by_locale = {v.locale: v for v in self.versions}
        return by_locale.get(locale) or by_locale.get(self.default_locale)


class MailingVersion(db.Model):
    """The mailing in one language."""

    __tablename__ = "mailing_versions"
    __table_args__ = (UniqueConstraint("mailing_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailings.id"), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body_markdown: Mapped[str] = mapped_column(Text, nullable=False)

    mailing: Mapped[Mailing] = relationship(back_populates="versions")


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker; see mailings.batches for what a crash means
    SENT = "sent"
    FAILED = "failed"  # refused by the server (5xx) or given up after retries
    SKIPPED = "skipped"  # unsubscribed or suppressed after the list was built
    BOUNCED = "bounced"  # accepted, then a bounce came back


class Delivery(db.Model):
    """One recipient of one mailing. The unique key makes each address receive a mailing once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("mailing_id", "email"),
        Index("ix_deliveries_progress", "mailing_id", "status", "id"),
        # An unsubscribe withdraws the address's deliveries still to send, in every mailing.
        Index("ix_deliveries_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailings.id"), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    first_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    signature_id: Mapped[int | None] = mapped_column(Integer)  # where the address came from
    # The ?source= code of the member network that brought this supporter: their action link
    # carries it, so what they do next counts for that network too.
    source_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus), default=DeliveryStatus.QUEUED, nullable=False
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A recipient's server said "later" (4xx): not claimed again before this time.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)

    mailing: Mapped[Mailing] = relationship()


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Suppression(db.Model):
    """An address no mailing may go to. Keyed by a digest of the normalised address, so the list
    still works after the address itself was erased from signatures."""

    __tablename__ = "suppressions"

    email_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[SuppressionReason] = mapped_column(_enum(SuppressionReason), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailings.id"))
    detail: Mapped[str | None] = mapped_column(Text)


class BounceKind(enum.StrEnum):
    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"


class Bounce(db.Model):
    """A delivery status notification (or complaint) matched to a delivery."""

    __tablename__ = "bounces"
    __table_args__ = (Index("ix_bounces_digest", "email_digest", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    email_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[BounceKind] = mapped_column(_enum(BounceKind), nullable=False)
    status_code: Mapped[str | None] = mapped_column(String(16))  # e.g. 5.1.1
    diagnostic: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # mailbox, webhook, smtp
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # Message-ID of the notification, so reading a mailbox twice records it once.
    notification_id: Mapped[str | None] = mapped_column(String(300), unique=True)
