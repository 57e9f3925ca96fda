"""A letter action's delivery, for staff: its letters counted by target and by country, the targets
whose address bounced, and the answers staff log. One aggregate query per table, whatever the
number of letters. Services flush; the caller commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from campaigns.audit.services import record as audit
from campaigns.core.i18n import country_name
from campaigns.extensions import db
from campaigns.lobbying.models import (
    Letter,
    LetterAction,
    LetterDelivery,
    LetterDeliveryStatus,
    Position,
    Target,
    TargetResponse,
)
from campaigns.lobbying.scorecard import latest_responses
from campaigns.staff.models import StaffUser

Status = LetterDeliveryStatus

# Where a delivery is counted: its status, and for a scheduled one what holds it back.
_COLUMN = {
    Status.AWAITING_CONFIRMATION: "awaiting",
    Status.SCHEDULED: "scheduled",
    Status.SENDING: "sending",
    Status.IN_DIGEST: "digest",
    Status.SENT: "sent",
    Status.BOUNCED: "bounced",
    Status.SKIPPED: "skipped",
    Status.FAILED: "failed",
}
_DEFERRED = {"pace": "deferred_pace", "office_hours": "deferred_office_hours"}


@dataclass
class Counts:
    """A target's (or a country's) letters by what became of them. The columns do not overlap: a
    scheduled letter held back by the pace or the office hours is counted there, not in
    `scheduled`. Withdrawn letters (cancelled) are left out."""

    awaiting: int = 0
    scheduled: int = 0
    deferred_pace: int = 0
    deferred_office_hours: int = 0
    sending: int = 0
    digest: int = 0
    sent: int = 0
    sent_to_test_inbox: int = 0  # of `sent`: in test mode, to LOBBYING_TEST_INBOX
    bounced: int = 0
    skipped: int = 0
    failed: int = 0

    def add(self, status: Status, deferred_by: str | None, test_mode: bool | None, n: int) -> None:
        column = _COLUMN.get(Status(status))
        if column is None:
            return
        if column == "scheduled" and deferred_by in _DEFERRED:
            column = _DEFERRED[deferred_by]
        setattr(self, column, getattr(self, column) + n)
        if column == "sent" and test_mode:
            self.sent_to_test_inbox += n

    def __iadd__(self, other: Counts) -> Counts:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @property
    def total(self) -> int:
        return sum(value for name, value in vars(self).items() if name != "sent_to_test_inbox")


def _counted(key: object, action_id: int) -> dict[object, Counts]:
    """Counts of the action's deliveries grouped by `key` (a column): one GROUP BY query."""
    query = (
        select(
            key,
            LetterDelivery.status,
            LetterDelivery.deferred_by,
            LetterDelivery.test_mode,
            func.count(),
        )
        .select_from(LetterDelivery)
        .join(Letter, Letter.id == LetterDelivery.letter_id)
        .where(Letter.action_id == action_id, LetterDelivery.status != Status.CANCELLED)
        .group_by(key, LetterDelivery.status, LetterDelivery.deferred_by, LetterDelivery.test_mode)
    )
    if key is Target.country:
        query = query.join(Target, Target.id == LetterDelivery.target_id)
    counts: dict[object, Counts] = defaultdict(Counts)
    for value, status, deferred_by, test_mode, number in db.session.execute(query):
        counts[value].add(status, deferred_by, test_mode, number)
    return dict(counts)


@dataclass
class TargetCounts:
    target: Target
    counts: Counts


@dataclass
class Report:
    targets: list[TargetCounts]
    countries: list[tuple[str | None, Counts]]  # None: EU-wide
    total: Counts

    @property
    def bounced_targets(self) -> list[Target]:
        """The action's targets whose address bounced, longest ago first."""
        bounced = [row.target for row in self.targets if row.target.bounced_at is not None]
        return sorted(bounced, key=lambda target: target.bounced_at)


def build_report(action: LetterAction) -> Report:
    by_target = _counted(LetterDelivery.target_id, action.id)
    by_country = _counted(Target.country, action.id)
    targets = _targets(by_target)
    total = Counts()
    for counts in by_target.values():
        total += counts
    # EU-wide first, then by the country's name in the page's language.
    countries = sorted(
        by_country.items(),
        key=lambda item: (item[0] is not None, country_name(item[0]) if item[0] else ""),
    )
    return Report(
        targets=[TargetCounts(target, by_target[target.id]) for target in targets],
        countries=countries,
        total=total,
    )


def targets_with_letters(action: LetterAction) -> list[Target]:
    """The targets the action's letters (withdrawn ones aside) were written to."""
    ids = db.session.scalars(
        select(LetterDelivery.target_id)
        .join(Letter, Letter.id == LetterDelivery.letter_id)
        .where(Letter.action_id == action.id, LetterDelivery.status != Status.CANCELLED)
        .distinct()
    ).all()
    return _targets(ids)


def _targets(ids: Iterable[int]) -> list[Target]:
    """The targets of `ids`: EU-wide ones first, then by country and name."""
    ids = list(ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Target)
            .where(Target.id.in_(ids))
            .order_by(Target.country.is_not(None), Target.country, Target.name)
        )
    )


# --- Answers ------------------------------------------------------------------------------------


@dataclass
class AnswerInput:
    target: Target
    responded_on: date
    position: Position
    quote: str | None
    link: str | None


def log_response(action: LetterAction, answer: AnswerInput, staff: StaffUser) -> TargetResponse:
    """Record a target's answer (never changed afterwards: a newer answer is logged instead), with
    its audit entry."""
    response = TargetResponse(
        action_id=action.id,
        target_id=answer.target.id,
        responded_on=answer.responded_on,
        position=answer.position,
        quote=answer.quote or None,
        link=answer.link or None,
        recorded_by_id=staff.id,
    )
    db.session.add(response)
    db.session.flush()
    audit(
        "target.response_logged",
        target=answer.target,
        campaign_id=action.campaign_id,
        detail={
            "response_id": response.id,
            "responded_on": answer.responded_on.isoformat(),
            "position": answer.position.value,
            "quote": bool(answer.quote),
            "link": answer.link or None,
        },
        actor=staff,
    )
    db.session.flush()
    return response


def is_latest(response: TargetResponse) -> bool:
    """Whether `response` is the one that counts for its target (no answer of a later date)."""
    latest = latest_responses(response.action_id, [response.target_id]).get(response.target_id)
    return latest is not None and latest.id == response.id


def history(action_id: int, limit: int = 50) -> list[TargetResponse]:
    """The answers logged for the action, the latest logged first."""
    return list(
        db.session.scalars(
            select(TargetResponse)
            .where(TargetResponse.action_id == action_id)
            .options(selectinload(TargetResponse.target))
            .order_by(TargetResponse.id.desc())
            .limit(limit)
        )
    )
