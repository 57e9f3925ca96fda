from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime
from campaigns.extensions import db


class Topic(enum.StrEnum):
    """What a network can subscribe to; the value is also the webhook's event type suffix."""

    CAMPAIGN_LAUNCHED = "campaign.launched"
    MILESTONE_REACHED = "petition.milestone_reached"
    URGENT_ACTION = "urgent_action.published"
    MAILING_SENT = "mailing.sent"
    WEEKLY_DIGEST = "network.weekly_digest"


class Channel(enum.StrEnum):
    EMAIL = "email"  # to the network's contacts, in the network's language
    WEBHOOK = "webhook"  # to each of the network's active endpoints


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e])


class AlertSubscription(db.Model):
    """A network wants alerts of `topic` on `channel`."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (UniqueConstraint("network_id", "topic", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), nullable=False)
    topic: Mapped[Topic] = mapped_column(_enum(Topic), nullable=False)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), nullable=False)


class Alert(TimestampMixin, db.Model):
    """One alert to one network. Made once per network and occasion (`occasion` names it: a
    campaign's launch, a petition's milestone, a week), whatever retries or relays happen."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("network_id", "topic", "occasion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), nullable=False, index=True)
    topic: Mapped[Topic] = mapped_column(_enum(Topic), nullable=False)
    occasion: Mapped[str] = mapped_column(String(80), nullable=False)
    # The versioned payload of the webhook (and what the email says), built when it was made.
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    # The webhook-id of its webhook message, the same for every endpoint of the network.
    message_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)

    network = relationship("Network")
    emails: Mapped[list[AlertEmail]] = relationship(
        back_populates="alert", order_by="AlertEmail.id"
    )


class AlertEmail(db.Model):
    """The alert's email to one contact of the network (sent once: core.mail.send_once)."""

    __tablename__ = "alert_emails"
    __table_args__ = (UniqueConstraint("alert_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    alert: Mapped[Alert] = relationship(back_populates="emails")


class UrgentAction(TimestampMixin, db.Model):
    """A short alert staff write and send to the networks subscribed to urgent actions."""

    __tablename__ = "urgent_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    link: Mapped[str] = mapped_column(String(500), nullable=False)
    deadline: Mapped[date | None] = mapped_column(Date)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The one-time token of the form that sent it: a form is sent once (alerts.urgent).
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)

    translations: Mapped[list[UrgentActionTranslation]] = relationship(
        back_populates="action", order_by="UrgentActionTranslation.locale"
    )

    def translation_for(self, locale: str) -> UrgentActionTranslation | None:
        """In `locale`, else English, else the first written."""
        by_locale = {t.locale: t for t in self.translations}
        return by_locale.get(locale) or by_locale.get("en") or next(iter(by_locale.values()), None)


class UrgentActionTranslation(db.Model):
    __tablename__ = "urgent_action_translations"
    __table_args__ = (UniqueConstraint("action_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("urgent_actions.id"), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)

    action: Mapped[UrgentAction] = relationship(back_populates="translations")
