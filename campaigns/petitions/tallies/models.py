from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaigns.core.db import UTCDateTime, utcnow
from campaigns.extensions import db


class Milestone(db.Model):
    """A count a petition reached; the unique constraint makes each one fire exactly once."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("petition_id", "threshold"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), nullable=False)
    threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # "count" or "goal"
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class HourlyConfirmations(db.Model):
    """Confirmed signatures per petition and hour (UTC): the dashboard's time series without
    scanning signatures. Kept by the tallies handlers and rebuilt by the reconcile task."""

    __tablename__ = "hourly_confirmations"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    confirmed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
