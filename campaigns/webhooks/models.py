from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime
from campaigns.extensions import db


class WebhookEndpoint(TimestampMixin, db.Model):
    """A URL of a member network that receives its alerts as signed webhooks."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), nullable=False, index=True)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    # "whsec_" + base64 of the key. Shown once when made; kept to sign every message.
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    # After a rotation the previous secret signs too, until this time, so the receiver can
    # switch over without refusing a message.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it was switched off: "gone" (410), "failing" (repeated failure) or "staff".
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    # Deliveries that failed for good in a row; a success resets it.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    network = relationship("Network")


class WebhookStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until claimed_until
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # no 2xx after every retry, or the endpoint answered 410 Gone
    CANCELLED = "cancelled"  # the endpoint was disabled or deleted before it went


class WebhookDelivery(TimestampMixin, db.Model):
    """One message to one endpoint. Its `message_id` is the `webhook-id` header, the same on
    every attempt, so the receiver can ignore a message it already has."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "message_id"),
        # The tick's look for due work.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id"), nullable=False, index=True
    )
    message_id: Mapped[str] = mapped_column(String(40), nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    # The JSON body exactly as signed and sent.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[WebhookStatus] = mapped_column(
        Enum(
            WebhookStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=WebhookStatus.PENDING,
        nullable=False,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.id"
    )


class WebhookAttempt(db.Model):
    """One try at delivering a message: the endpoint's delivery log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint", "endpoint_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), nullable=False)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)  # 1 for the first try
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no HTTP answer
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    # What went wrong (a timeout, a refused address) or the start of the answer's body.
    detail: Mapped[str] = mapped_column(String(500), default="", nullable=False)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")
