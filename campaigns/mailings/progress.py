"""A mailing's progress for staff: recipients by status, the rate of the last minute, and when it
should be done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing


@dataclass
class Progress:
    total: int
    by_status: dict[str, int]
    rate_per_minute: float
    finished_in_seconds: float | None

    @property
    def done(self) -> int:
        return sum(self.by_status.get(s, 0) for s in ("sent", "failed", "skipped", "bounced"))

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def mailing_progress(mailing: Mailing) -> Progress:
    rows = db.session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.mailing_id == mailing.id)
        .group_by(Delivery.status)
    ).all()
    by_status = {str(status): count for status, count in rows}
    total = sum(by_status.values())
    window = utcnow() - timedelta(minutes=1)
    last_minute = db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.mailing_id == mailing.id,
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= window,
        )
    )
    remaining = by_status.get("queued", 0) + by_status.get("sending", 0)
    eta = remaining / (last_minute / 60) if last_minute and remaining else None
    return Progress(total, by_status, float(last_minute), eta)
