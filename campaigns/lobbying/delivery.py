"""Delivering letters: scheduling a confirmed letter's deliveries, and beat's tick that takes the
due ones (sending.py sends them, each exactly once).

The schedule lives in the database (`LetterDelivery.due_at`), so any worker can send any letter
and a crash loses nothing. A tick takes at most one letter per target, and only from a target
whose last letter was taken at least 3600 / pace seconds ago (a conditional UPDATE of the target
row): two beats, or a backlog after an outage, never exceed the pace. Each letter is claimed
(committed) before the SMTP transaction and marked sent, in a commit, just before the server gets
the final dot of DATA (`core.smtp`): a worker killed before that commit leaves the server a partial
message, which it drops, and its claim lapses after LOBBYING_CLAIM_LEASE so the letter goes again;
a worker killed after that commit has handed the letter over, and it is never sent again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.lobbying.models import (
    Letter,
    LetterAction,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
    Target,
)
from campaigns.lobbying.pacing import next_slot, office_hours, spacing, zone_of
from campaigns.lobbying.sending import send_claimed, skip_waiting_for

log = logging.getLogger(__name__)

NO_SYNC = {"synchronize_session": False}


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


def claim_due(now: datetime, limit: int) -> tuple[list[int], int, bool]:
    """Claim due deliveries, one per target whose turn it is, in a few statements whatever their
    number. Returns (claimed ids, deferred, whether more were due than looked at). Commits:
    claims must be seen before any mail goes."""
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
        .join(Letter, Letter.id == LetterDelivery.letter_id)
        .join(LetterAction, LetterAction.id == Letter.action_id)
        .join(Campaign, Campaign.id == LetterAction.campaign_id)
        .where(
            LetterDelivery.status == LetterDeliveryStatus.SCHEDULED,
            LetterDelivery.due_at <= now,
            # Only targets whose turn has come: one target's backlog never hides the others'.
            or_(Target.last_claimed_at.is_(None), Target.last_claimed_at <= now - spacing()),
            # A paused campaign sends nothing until it is resumed.
            Campaign.status != CampaignStatus.PAUSED,
        )
        .order_by(LetterDelivery.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=LetterDelivery)
    ).all()
    first_per_target = {}
    for row in due:
        first_per_target.setdefault(row.target_id, row)  # one letter per target per round
    hours = office_hours()
    deferred = 0
    open_now = []
    for row in first_per_target.values():
        if row.bounced_at is not None or not row.active or not row.email:
            skip_waiting_for(row.target_id, "bounced" if row.bounced_at else "left office")
            continue
        zone = zone_of(row.time_zone)
        if not hours.is_open(now.astimezone(zone)):  # late, and the office has closed meanwhile
            _defer([row.id], "office_hours", hours.next_open(now, zone))
            deferred += 1
            continue
        open_now.append(row)
    turn, looked_at = _take_turns({row.target_id for row in open_now}, now)
    later = [row.id for row in open_now if row.target_id in looked_at - turn]
    _defer(later, "pace")
    claimed = []
    if turn:
        claimed = db.session.scalars(
            update(LetterDelivery)
            .where(
                LetterDelivery.id.in_([row.id for row in open_now if row.target_id in turn]),
                LetterDelivery.status == LetterDeliveryStatus.SCHEDULED,
            )
            .values(
                status=LetterDeliveryStatus.SENDING,
                claimed_at=now,
                attempts=LetterDelivery.attempts + 1,
            )
            .returning(LetterDelivery.id),
            execution_options=NO_SYNC,
        ).all()
    db.session.commit()  # the claims, before any mail goes out
    return sorted(claimed), deferred + len(later), len(due) == limit


def _take_turns(target_ids: set[int], now: datetime) -> tuple[set[int], set[int]]:
    """Take the turn of each target whose last letter was taken at least the spacing ago (its
    pace). Returns (the targets whose turn this round took, those it looked at). A target row
    another tick has locked is left to it (SKIP LOCKED): two ticks share the work instead of
    waiting for each other, and never take the same target's turn twice."""
    if not target_ids:
        return set(), set()
    locked = set(
        db.session.scalars(
            select(Target.id)
            .where(Target.id.in_(sorted(target_ids)))
            .order_by(Target.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not locked:
        return set(), set()
    turn = set(
        db.session.scalars(
            update(Target)
            .where(
                Target.id.in_(sorted(locked)),
                or_(Target.last_claimed_at.is_(None), Target.last_claimed_at <= now - spacing()),
            )
            .values(last_claimed_at=now)
            .returning(Target.id),
            execution_options=NO_SYNC,
        )
    )
    return turn, locked


def _defer(delivery_ids: list[int], reason: str, due_at: datetime | None = None) -> None:
    if not delivery_ids:
        return
    values: dict[str, object] = {"deferred_by": reason}
    if due_at is not None:
        values["due_at"] = due_at
    db.session.execute(
        update(LetterDelivery).where(LetterDelivery.id.in_(delivery_ids)).values(**values),
        execution_options=NO_SYNC,
    )


def tick(now: datetime | None = None) -> TickResult:
    """Beat's work: hand back lapsed claims, then send what is due, at the pace."""
    now = now or utcnow()
    release_stale_claims(now)
    db.session.commit()
    claimed, deferred, more = claim_due(now, current_app.config["LOBBYING_BATCH_SIZE"])
    sent, failed = send_claimed(claimed)
    return TickResult(sent=sent, deferred=deferred, failed=failed, more=more)


def requeue_skipped(target_id: int, reasons: tuple[str, ...]) -> int:
    """Letters skipped for `reasons` ("bounced", "left office") go out after all, now that the
    target can receive them again: due at once, at the target's pace. Withdrawn ones stay."""
    confirmed = select(Letter.id).where(Letter.status == LetterStatus.CONFIRMED)
    requeued = db.session.execute(
        update(LetterDelivery)
        .where(
            LetterDelivery.target_id == target_id,
            LetterDelivery.status == LetterDeliveryStatus.SKIPPED,
            LetterDelivery.error.in_(reasons),
            LetterDelivery.letter_id.in_(confirmed),
        )
        .values(status=LetterDeliveryStatus.SCHEDULED, due_at=utcnow(), error=None),
        execution_options=NO_SYNC,
    )
    return requeued.rowcount


def switch_digest(target_id: int, on: bool) -> int:
    """Move the target's waiting letters into its daily digest (from today's), or out of it (due
    at once, at its pace). Returns how many moved."""
    now = utcnow()
    moved = db.session.execute(
        update(LetterDelivery)
        .where(
            LetterDelivery.target_id == target_id,
            LetterDelivery.status
            == (LetterDeliveryStatus.SCHEDULED if on else LetterDeliveryStatus.IN_DIGEST),
        )
        .values(
            status=LetterDeliveryStatus.IN_DIGEST if on else LetterDeliveryStatus.SCHEDULED,
            due_at=now,
            deferred_by=None,
        ),
        execution_options=NO_SYNC,
    )
    return moved.rowcount
