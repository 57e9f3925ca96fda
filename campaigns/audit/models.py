from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import UTCDateTime, utcnow
from campaigns.extensions import db


class AuditEntry(db.Model):
    """One thing a staff member (or the system) did or saw. Rows are only ever inserted: there is
    no page, service or task that edits or deletes them, and on PostgreSQL a trigger refuses
    UPDATE and DELETE outright (see migration 0002)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_occurred_at", "occurred_at"),
        Index("ix_audit_log_actor", "actor_id", "occurred_at"),
        Index("ix_audit_log_action", "action", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # Kept as written at the time, so the entry still says who it was if the account changes.
    actor_email: Mapped[str | None] = mapped_column(String(254))
    # Dotted verb, e.g. "signatures.export", "staff.role_changed" (see audit.services.ACTIONS).
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    detail: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    actor = relationship("StaffUser")
