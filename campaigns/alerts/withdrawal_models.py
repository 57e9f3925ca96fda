"""What the platform keeps to tell a member network that a supporter withdrew the consent given
to it (campaigns.alerts.withdrawals): each withdrawal until the network has been told, and each
daily email that told one.

A withdrawal holds the address of someone who asked us to stop sharing it, so it is kept only
until the network has it: it is deleted once its webhook was delivered or its daily email went.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime
from campaigns.extensions import db


class NetworkWithdrawal(db.Model):
    """A network's supporter withdrew the consent given to it: the network must delete them.
    One per `network_consent.withdrawn` event, whatever retries or relays happen."""

    __tablename__ = "network_withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), nullable=False, index=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    reason: Mapped[str] = mapped_column(String(16), nullable=False)  # "withdrawn" or "erased"
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The webhook-id of its supporter.consent_withdrawn message (one delivery per active
    # endpoint, perhaps none): the daily email lists it unless a delivery of it went or may
    # still go (withdrawal_mail.waiting).
    message_id: Mapped[str] = mapped_column(String(40), nullable=False)
    # The daily email that lists it; None while it waits for one.
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("withdrawal_notices.id"), index=True)


class WithdrawalNotice(TimestampMixin, db.Model):
    """The daily email that tells a network's contacts which addresses to delete: at most one per
    network and day (Brussels time), listing every withdrawal waiting when it was made."""

    __tablename__ = "withdrawal_notices"
    __table_args__ = (UniqueConstraint("network_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    # How many addresses it listed: what stays once the withdrawals themselves are deleted.
    addresses: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # When every contact's email went (or was refused for good); None while some wait.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    network = relationship("Network")
