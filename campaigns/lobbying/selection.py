"""Who receives a supporter's letter: the action's rule applied to the supporter's country, with
the action's fallback list where the rule finds nobody (Norway has no MEPs; nor does a supporter
from outside the EU)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.extensions import db
from campaigns.lobbying.models import (
    COMMITTEE_ROLE_RANK,
    CommitteeRole,
    LetterAction,
    SelectionRule,
    Target,
    TargetCommittee,
    TargetKind,
)

FALLBACK = "fallback"
NAMED = "named"


@dataclass
class Selection:
    """The targets of one letter, in the order shown, and why each is there."""

    targets: list[Target]
    fallback: bool = False  # the rule found nobody: these are the action's fallback list
    # target id -> its seat on the action's committees that put it first, e.g. ("LIBE", "chair")
    seats: dict[int, tuple[str, CommitteeRole]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.targets)


def _receiving(query):  # noqa: ANN001, ANN202 - a Select of Target
    return query.where(
        Target.active.is_(True), Target.email.is_not(None), Target.bounced_at.is_(None)
    )


def _best_seats(
    targets: list[Target], committees: list[str]
) -> dict[int, tuple[str, CommitteeRole]]:
    """Each target's highest-ranked seat on one of `committees` (in the action's order)."""
    order = {code: i for i, code in enumerate(committees)}
    seats = {}
    for target in targets:
        on_ours = [c for c in target.committees if c.committee in order]
        if on_ours:
            best = min(on_ours, key=lambda c: (COMMITTEE_ROLE_RANK[c.role], order[c.committee]))
            seats[target.id] = (best.committee, best.role)
    return seats


def _rank(
    targets: list[Target], seats: dict[int, tuple[str, CommitteeRole]], country: str
) -> list[Target]:
    """Chairs, then vice-chairs, members and substitutes of the chosen committees, then the
    rest; within each, the supporter's own country first, then by name."""

    def key(target: Target) -> tuple:
        seat = seats.get(target.id)
        rank = COMMITTEE_ROLE_RANK[seat[1]] if seat else len(COMMITTEE_ROLE_RANK)
        return (rank, target.country != country, target.name)

    return sorted(targets, key=key)


def _meps(*conditions) -> list[Target]:  # noqa: ANN002
    query = _receiving(
        select(Target)
        .where(Target.kind == TargetKind.MEP, *conditions)
        .options(selectinload(Target.committees))
    )
    return list(db.session.scalars(query))


def _chosen(action: LetterAction, purpose: str) -> list[Target]:
    ids = action.chosen_ids(purpose)
    if not ids:
        return []
    positions = {c.target_id: c.position for c in action.chosen if c.purpose == purpose}
    found = db.session.scalars(
        _receiving(select(Target).where(Target.id.in_(ids))).options(
            selectinload(Target.committees)
        )
    )
    return sorted(found, key=lambda t: (positions[t.id], t.name))


def _candidates(action: LetterAction, country: str | None) -> list[Target]:
    """The MEPs the rule chooses among: for `country` only (OWN_COUNTRY), or for every country
    when `country` is None."""
    committees = action.committee_list
    if action.rule == SelectionRule.OWN_COUNTRY:
        return _meps(Target.country == country) if country is not None else _meps()
    if action.rule == SelectionRule.COMMITTEES:
        if not committees:
            return []
        on_committees = select(TargetCommittee.target_id).where(
            TargetCommittee.committee.in_(committees)
        )
        return _meps(Target.id.in_(on_committees))
    if not action.political_group:  # SelectionRule.GROUP
        return []
    return _meps(Target.political_group == action.political_group)


def _ranked(action: LetterAction, country: str, candidates: list[Target]) -> Selection:
    if action.rule == SelectionRule.OWN_COUNTRY:
        candidates = [t for t in candidates if t.country == country]
    seats = _best_seats(candidates, action.committee_list)
    ranked = _rank(candidates, seats, country)[: action.max_targets]
    return Selection(ranked, seats={t.id: seats[t.id] for t in ranked if t.id in seats})


def by_rule(action: LetterAction, country: str) -> Selection:
    """The targets the action's own rule finds for a supporter from `country` (no fallback)."""
    if action.rule == SelectionRule.NAMED:
        return Selection(_chosen(action, NAMED)[: action.max_targets])
    return _ranked(action, country, _candidates(action, country))


def _or_fallback(action: LetterAction, selection: Selection, fallback: list[Target]) -> Selection:
    if selection:
        return selection
    fallback = fallback[: action.max_targets]
    return Selection(fallback, fallback=True, seats=_best_seats(fallback, action.committee_list))


def targets_for(action: LetterAction, country: str) -> Selection:
    """Who receives the letter of a supporter from `country`: the rule's targets, else the
    fallback list; empty when neither has anyone who can receive letters."""
    selection = by_rule(action, country)
    return selection if selection else _or_fallback(action, selection, _chosen(action, FALLBACK))


def targets_for_each(action: LetterAction, countries: list[str]) -> dict[str, Selection]:
    """`targets_for` for many countries at once (the settings page's preview): the candidates
    and the lists are read once, not once per country."""
    fallback = _chosen(action, FALLBACK)
    if action.rule == SelectionRule.NAMED:
        named = Selection(_chosen(action, NAMED)[: action.max_targets])
        return {c: _or_fallback(action, named, fallback) for c in countries}
    candidates = _candidates(action, None)
    return {c: _or_fallback(action, _ranked(action, c, candidates), fallback) for c in countries}
