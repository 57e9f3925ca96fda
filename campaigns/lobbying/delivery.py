"""Delivering letters: scheduling a confirmed letter's deliveries, and beat's tick that takes the
due ones and sends each exactly once.

The schedule lives in the database (`LetterDelivery.due_at`), so any worker can send any letter
and a crash loses nothing. A tick takes at most one letter per target, and only from a target
whose last letter was taken at least 3600 / pace seconds ago (a conditional UPDATE of the target
row): two beats, or a backlog after an outage, never exceed the pace. Each letter is claimed
(committed) before the SMTP transaction and sent through `core.mail.send_once`, keyed by the
delivery: a killed worker's claim lapses and is taken again, and `send_once` never sends a key
twice.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload

from campaigns.campaign.models import Campaign
from campaigns.core.db import utcnow
from campaigns.core.mail import MailClaimedElsewhere, PermanentMailError, send_once
from campaigns.extensions import db
from campaigns.lobbying.message import letter_email
from campaigns.lobbying.models import (
    Letter,
    LetterAction,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
    Target,
)
from campaigns.lobbying.pacing import next_slot, office_hours, spacing, zone_of

log = logging.getLogger(__name__)

NO_SYNC = {"synchronize_session": False}
MAX_ATTEMPTS = 8


def schedule_letter(letter_id: int, now: datetime | None = None) -> int:
    """Give each delivery of a confirmed letter its time (idempotent: only deliveries still
    awaiting confirmation are scheduled). Returns how many were scheduled."""
    now = now or utcnow()
    letter = db.session.get(Letter, letter_id)
    if letter is None or letter.status != LetterStatus.CONFIRMED:
        return 0
    waiting = [
        d for d in letter.deliveries if d.status == LetterDeliveryStatus.AWAITING_CONFIRMATION
    ]
    if not waiting:
        return 0
    # Lock the targets (in id order, so two workers never wait for each other in a circle):
    # their next free slot is read and moved on here.
    targets = {
        t.id: t
        for t in db.session.scalars(
            select(Target)
            .where(Target.id.in_([d.target_id for d in waiting]))
            .order_by(Target.id)
            .with_for_update()
        )
    }
    for delivery in waiting:
        target = targets[delivery.target_id]
        if not target.receives_letters:
            delivery.status = LetterDeliveryStatus.SKIPPED
            delivery.error = "bounced" if target.bounced_at else "left office"
        elif target.daily_digest:
            delivery.status = LetterDeliveryStatus.IN_DIGEST
            delivery.due_at = now
        else:
            slot = next_slot(now, target.next_slot_at, zone_of(target.time_zone))
            delivery.status = LetterDeliveryStatus.SCHEDULED
            delivery.due_at = slot.due_at
            delivery.deferred_by = slot.deferred_by
            target.next_slot_at = slot.due_at + spacing()
    db.session.flush()
    return len(waiting)


@dataclass
class TickResult:
    sent: int = 0
    deferred: int = 0  # due, but the target's pace or office hours said later
    failed: int = 0
    more: bool = False  # a full batch was due: run again soon


def release_stale_claims(now: datetime) -> int:
    """Hand back the letters of workers that died mid-send (their claim outlived the lease)."""
    lease = timedelta(seconds=current_app.config["LOBBYING_CLAIM_LEASE"])
    released = db.session.execute(
        update(LetterDelivery)
        .where(
            LetterDelivery.status == LetterDeliveryStatus.SENDING,
            LetterDelivery.claimed_at < now - lease,
        )
        .values(status=LetterDeliveryStatus.SCHEDULED),
        execution_options=NO_SYNC,
    )
    return released.rowcount


def _take_target(target_id: int, now: datetime) -> bool:
    """Take the target's turn: True if its last letter was taken at least the spacing ago."""
    taken = db.session.execute(
        update(Target)
        .where(
            Target.id == target_id,
            or_(Target.last_claimed_at.is_(None), Target.last_claimed_at <= now - spacing()),
        )
        .values(last_claimed_at=now),
        execution_options=NO_SYNC,
    )
    return taken.rowcount == 1


def claim_due(now: datetime, limit: int) -> tuple[list[int], int, bool]:
    """Claim due deliveries, one per target whose turn it is. Returns (claimed ids, deferred,
    whether more were due than looked at). Commits: claims must be seen before any mail goes."""
    due = db.session.execute(
        select(
            LetterDelivery.id,
            LetterDelivery.target_id,
            Target.time_zone,
            Target.active,
            Target.email,
            Target.bounced_at,
        )
        .join(Target, Target.id == LetterDelivery.target_id)
        .where(
            LetterDelivery.status == LetterDeliveryStatus.SCHEDULED,
            LetterDelivery.due_at <= now,
        )
        .order_by(LetterDelivery.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=LetterDelivery)
    ).all()
    claimed, deferred, seen_targets = [], 0, set()
    hours = office_hours()
    for delivery_id, target_id, time_zone, active, email, bounced_at in due:
        if target_id in seen_targets:
            continue  # one letter per target per tick
        seen_targets.add(target_id)
        if bounced_at is not None or not active or not email:
            skip_waiting_for(target_id, "bounced" if bounced_at else "left office")
            continue
        zone = zone_of(time_zone)
        if not hours.is_open(now.astimezone(zone)):  # late, and the office has closed meanwhile
            _defer(delivery_id, hours.next_open(now, zone), "office_hours")
            deferred += 1
            continue
        if not _take_target(target_id, now):
            _defer(delivery_id, None, "pace")
            deferred += 1
            continue
        took = db.session.execute(
            update(LetterDelivery)
            .where(
                LetterDelivery.id == delivery_id,
                LetterDelivery.status == LetterDeliveryStatus.SCHEDULED,
            )
            .values(
                status=LetterDeliveryStatus.SENDING,
                claimed_at=now,
                attempts=LetterDelivery.attempts + 1,
            ),
            execution_options=NO_SYNC,
        )
        if took.rowcount == 1:
            claimed.append(delivery_id)
    db.session.commit()  # the claims, before any mail goes out
    return claimed, deferred, len(due) == limit


def _defer(delivery_id: int, due_at: datetime | None, reason: str) -> None:
    values: dict[str, object] = {"deferred_by": reason}
    if due_at is not None:
        values["due_at"] = due_at
    db.session.execute(
        update(LetterDelivery).where(LetterDelivery.id == delivery_id).values(**values),
        execution_options=NO_SYNC,
    )


def _deliveries(ids: list[int]) -> list[LetterDelivery]:
    return list(
        db.session.scalars(
            select(LetterDelivery)
            .where(LetterDelivery.id.in_(ids))
            .order_by(LetterDelivery.id)
            .options(
                joinedload(LetterDelivery.target),
                joinedload(LetterDelivery.letter)
                .joinedload(Letter.action)
                .joinedload(LetterAction.campaign)
                .selectinload(Campaign.translations),
            )
        )
    )


def send_claimed(ids: list[int]) -> tuple[int, int]:
    """Send the claimed deliveries; returns (sent, failed). Each outcome is committed as soon as
    the server answered."""
    sent = failed = 0
    for delivery in _deliveries(ids):
        if delivery.status != LetterDeliveryStatus.SENDING:
            continue
        if delivery.letter.status != LetterStatus.CONFIRMED:  # withdrawn since it was claimed
            _finish(delivery, LetterDeliveryStatus.CANCELLED)
            continue
        email, test_mode = letter_email(delivery)
        try:
            send_once(f"letter:{delivery.id}", "lobbying/letter", lambda e=email: e)
        except PermanentMailError as exc:
            failed += 1
            _refused(delivery, str(exc), test_mode)
            continue
        except (smtplib.SMTPException, OSError, MailClaimedElsewhere) as exc:
            # A transient failure (the server said 4xx, or could not be reached): later, with
            # a growing delay, up to MAX_ATTEMPTS.
            db.session.rollback()
            failed += 1
            _retry_later(delivery, exc)
            continue
        sent += 1
        delivery.test_mode = test_mode
        _finish(delivery, LetterDeliveryStatus.SENT, sent_at=utcnow())
    return sent, failed


def _finish(delivery: LetterDelivery, status: LetterDeliveryStatus, **values: object) -> None:
    delivery.status = status
    for name, value in values.items():
        setattr(delivery, name, value)
    db.session.commit()  # the outcome, as soon as it is known


def _refused(delivery: LetterDelivery, reason: str, test_mode: bool) -> None:
    """The server refused the address for good. In test mode that is the test inbox's problem,
    not the target's; otherwise the target is flagged to staff and skipped from now on."""
    if not test_mode:
        delivery.target.bounced_at = utcnow()
        delivery.target.bounce_reason = reason[:300]
        log.warning("letters to target %s bounced: skipped until staff fix it", delivery.target_id)
        skip_waiting_for(delivery.target_id, "bounced")
    _finish(delivery, LetterDeliveryStatus.BOUNCED, error=reason[:300])


def _retry_later(delivery: LetterDelivery, exc: Exception) -> None:
    delivery = db.session.get(LetterDelivery, delivery.id)
    if delivery.attempts >= MAX_ATTEMPTS:
        _finish(delivery, LetterDeliveryStatus.FAILED, error=str(exc)[:300])
        return
    delay = timedelta(seconds=min(60 * 2**delivery.attempts, 3600))
    _finish(
        delivery,
        LetterDeliveryStatus.SCHEDULED,
        due_at=utcnow() + delay,
        error=str(exc)[:300],
    )


def tick(now: datetime | None = None) -> TickResult:
    """Beat's work: hand back lapsed claims, then send what is due, at the pace."""
    now = now or utcnow()
    release_stale_claims(now)
    db.session.commit()
    claimed, deferred, more = claim_due(now, current_app.config["LOBBYING_BATCH_SIZE"])
    sent, failed = send_claimed(claimed)
    return TickResult(sent=sent, deferred=deferred, failed=failed, more=more)


def skip_waiting_for(target_id: int, reason: str) -> int:
    """Letters still waiting for a target that bounced or left office: skipped, not sent."""
    skipped = db.session.execute(
        update(LetterDelivery)
        .where(
            LetterDelivery.target_id == target_id,
            LetterDelivery.status.in_(
                (LetterDeliveryStatus.SCHEDULED, LetterDeliveryStatus.IN_DIGEST)
            ),
        )
        .values(status=LetterDeliveryStatus.SKIPPED, error=reason),
        execution_options=NO_SYNC,
    )
    return skipped.rowcount
