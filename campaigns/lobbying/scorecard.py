"""A letter action's public scorecard: the policymakers written to, how many letters each received
and how many are on their way, and how each answered (the latest answer staff logged).

A few queries whatever the number of letters: the deliveries are counted in SQL (GROUP BY target
and status), then the targets and their latest answers are read once each. Nothing about the
supporters is read: the scorecard never names who wrote."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

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

# Letters that will go unless something stops them (the supporter withdraws, the address bounces).
ON_THE_WAY = (
    LetterDeliveryStatus.SCHEDULED,
    LetterDeliveryStatus.SENDING,
    LetterDeliveryStatus.IN_DIGEST,
)
# A position that is an answer (staff may also log that a target did not reply).
ANSWERS = (Position.SUPPORTS, Position.OPPOSES, Position.UNDECIDED)


def latest_responses(
    action_id: int, target_ids: Iterable[int] | None = None
) -> dict[int, TargetResponse]:
    """Each target's latest answer to the action (latest date; of one day, the one logged last),
    by target id. One query."""
    ranked = select(
        TargetResponse.id,
        func.row_number()
        .over(
            partition_by=TargetResponse.target_id,
            order_by=(TargetResponse.responded_on.desc(), TargetResponse.id.desc()),
        )
        .label("rank"),
    ).where(TargetResponse.action_id == action_id)
    if target_ids is not None:
        ranked = ranked.where(TargetResponse.target_id.in_(list(target_ids)))
    latest = ranked.subquery()
    responses = db.session.scalars(
        select(TargetResponse)
        .join(latest, latest.c.id == TargetResponse.id)
        .where(latest.c.rank == 1)
    )
    return {response.target_id: response for response in responses}


@dataclass
class ScoreRow:
    target: Target
    sent: int = 0
    on_the_way: int = 0
    response: TargetResponse | None = None

    @property
    def left_office(self) -> bool:
        return not self.target.active or self.target.left_office_on is not None

    @property
    def position(self) -> Position | None:
        """The latest position logged, or None when nothing was logged yet."""
        return self.response.position if self.response is not None else None

    @property
    def answered(self) -> bool:
        return self.position in ANSWERS


@dataclass
class CountryRows:
    code: str | None  # None: EU-wide (the Commission, the agencies)
    name: str
    rows: list[ScoreRow]


@dataclass
class GroupSummary:
    name: str | None  # None: not in a political group (EU institutions, ministries...)
    targets: int = 0
    supports: int = 0
    opposes: int = 0
    undecided: int = 0
    no_answer: int = 0  # logged as "no reply", or nothing logged yet

    def add(self, row: ScoreRow) -> None:
        self.targets += 1
        if row.position == Position.SUPPORTS:
            self.supports += 1
        elif row.position == Position.OPPOSES:
            self.opposes += 1
        elif row.position == Position.UNDECIDED:
            self.undecided += 1
        else:
            self.no_answer += 1


@dataclass
class Scorecard:
    rows: list[ScoreRow]
    countries: list[CountryRows] = field(default_factory=list)
    groups: list[GroupSummary] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(row.sent for row in self.rows)

    @property
    def on_the_way(self) -> int:
        return sum(row.on_the_way for row in self.rows)

    @property
    def written_to(self) -> int:
        return len(self.rows)

    @property
    def answers(self) -> int:
        return sum(1 for row in self.rows if row.answered)


def letter_counts(action_id: int) -> dict[int, tuple[int, int]]:
    """(delivered, on the way) per target. Delivered means it reached the policymaker: a letter
    sent to the test inbox in test mode reached nobody, and is not counted."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = db.session.execute(
        select(
            LetterDelivery.target_id,
            LetterDelivery.status,
            LetterDelivery.test_mode,
            func.count(),
        )
        .join(Letter, Letter.id == LetterDelivery.letter_id)
        .where(
            Letter.action_id == action_id,
            LetterDelivery.status.in_((LetterDeliveryStatus.SENT, *ON_THE_WAY)),
        )
        .group_by(LetterDelivery.target_id, LetterDelivery.status, LetterDelivery.test_mode)
    )
    for target_id, status, test_mode, number in rows:
        if status == LetterDeliveryStatus.SENT:
            if not test_mode:
                counts[target_id][0] += number
        else:
            counts[target_id][1] += number
    return {target_id: (sent, waiting) for target_id, (sent, waiting) in counts.items()}


def build_scorecard(action: LetterAction) -> Scorecard:
    counts = {tid: c for tid, c in letter_counts(action.id).items() if c[0] or c[1]}
    if not counts:
        return Scorecard(rows=[])
    targets = db.session.scalars(select(Target).where(Target.id.in_(list(counts))))
    responses = latest_responses(action.id, counts)
    rows = []
    for target in targets:
        sent, waiting = counts[target.id]
        if not target.receives_letters:
            waiting = 0  # left office, or the address bounced: what waits will be skipped
        if sent or waiting:
            rows.append(ScoreRow(target, sent, waiting, responses.get(target.id)))
    rows.sort(key=lambda row: row.target.name.casefold())
    return Scorecard(rows=rows, countries=by_country(rows), groups=by_group(rows))


def by_country(rows: list[ScoreRow]) -> list[CountryRows]:
    """The rows by the target's country, countries by name; EU-wide targets first."""
    grouped: dict[str | None, list[ScoreRow]] = defaultdict(list)
    for row in rows:
        grouped[row.target.country].append(row)
    countries = [
        CountryRows(code, country_name(code) if code else "", grouped[code]) for code in grouped
    ]
    countries.sort(key=lambda c: (c.code is not None, c.name.casefold()))
    return countries


def by_group(rows: list[ScoreRow]) -> list[GroupSummary]:
    """A summary per political group, the largest first; targets in no group last."""
    groups: dict[str | None, GroupSummary] = {}
    for row in rows:
        name = row.target.political_group or None
        groups.setdefault(name, GroupSummary(name)).add(row)
    return sorted(
        groups.values(),
        key=lambda g: (g.name is None, -g.targets, (g.name or "").casefold()),
    )
