"""The staff side of a letter action: its settings saved and audited, the preview of who receives
the letters of a supporter from each country, the letters counted, and the switch between test
mode and live. Changes are audited in the caller's transaction; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import distinct, func, select, update

from campaigns.audit.services import record
from campaigns.core.db import utcnow
from campaigns.core.i18n import country_choices, country_name
from campaigns.extensions import db
from campaigns.lobbying.mode import deployment_is_live
from campaigns.lobbying.models import (
    ChosenTarget,
    CommitteeRole,
    EditPolicy,
    Letter,
    LetterAction,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
    SelectionRule,
    Target,
    TargetCommittee,
    TargetKind,
)
from campaigns.lobbying.selection import FALLBACK, NAMED, targets_for_each
from campaigns.staff.models import StaffUser

# The committees a drug-policy campaign writes to most: listed first.
PREFERRED_COMMITTEES = ("LIBE", "SANT", "ENVI")

SEAT_LABELS = {
    CommitteeRole.CHAIR: _l("chair"),
    CommitteeRole.VICE_CHAIR: _l("vice-chair"),
    CommitteeRole.MEMBER: _l("member"),
    CommitteeRole.SUBSTITUTE: _l("substitute"),
}

# Deliveries not sent yet: what switching live (or back to test) changes the address of.
WAITING = (
    LetterDeliveryStatus.AWAITING_CONFIRMATION,
    LetterDeliveryStatus.SCHEDULED,
    LetterDeliveryStatus.SENDING,
    LetterDeliveryStatus.IN_DIGEST,
)


# --- Test mode or live ------------------------------------------------------------------------


@dataclass
class Mode:
    """Where an action's letters go now, and why."""

    live: bool  # to the policymakers themselves
    deployment_live: bool  # LOBBYING_DELIVERY=live
    action_live: bool  # an admin switched the action live
    test_inbox: str
    reasons: list[str] = field(default_factory=list)  # why it is in test mode


def mode_of(action: LetterAction) -> Mode:
    deployment = deployment_is_live()
    reasons = []
    if not deployment:
        reasons.append(
            _(
                "This deployment sends every letter in test mode: its setting LOBBYING_DELIVERY "
                "is not “live”."
            )
        )
    if not action.live:
        reasons.append(_("This action has not been switched live by an admin."))
    return Mode(
        live=deployment and action.live,
        deployment_live=deployment,
        action_live=action.live,
        test_inbox=current_app.config["LOBBYING_TEST_INBOX"],
        reasons=reasons,
    )


def switch_live(action: LetterAction, live: bool, staff: StaffUser) -> None:
    """Switch the action's letters to the policymakers (live) or back to the test inbox."""
    was = action.live
    action.live = live
    action.live_changed_at = utcnow()
    action.live_changed_by_id = staff.id
    record(
        "letter_action.live_changed",
        target=action,
        campaign_id=action.campaign_id,
        detail={"live": live, "was_live": was, "deployment_live": deployment_is_live()},
        actor=staff,
    )


# --- Counts -------------------------------------------------------------------------------------


def confirmed_letters(action_ids: list[int], network_id: int | None = None) -> dict[int, int]:
    """Confirmed letters per action (of those `network_id` brought, when given)."""
    if not action_ids:
        return {}
    query = (
        select(Letter.action_id, func.count())
        .where(Letter.action_id.in_(action_ids), Letter.status == LetterStatus.CONFIRMED)
        .group_by(Letter.action_id)
    )
    if network_id is not None:
        query = query.where(Letter.source_network_id == network_id)
    counts = dict(db.session.execute(query).all())
    return {action_id: counts.get(action_id, 0) for action_id in action_ids}


def letter_counts(action: LetterAction, network_id: int | None = None) -> dict[str, int]:
    """Letters of the action by status ("pending", "confirmed", "rejected")."""
    query = (
        select(Letter.status, func.count())
        .where(Letter.action_id == action.id)
        .group_by(Letter.status)
    )
    if network_id is not None:
        query = query.where(Letter.source_network_id == network_id)
    counts = dict(db.session.execute(query).all())
    return {status.value: counts.get(status, 0) for status in LetterStatus}


def waiting(action: LetterAction) -> tuple[int, int]:
    """(letters, messages to targets) not sent yet: confirmed and due, or awaiting confirmation."""
    letters, deliveries = db.session.execute(
        select(func.count(distinct(LetterDelivery.letter_id)), func.count())
        .join(Letter, Letter.id == LetterDelivery.letter_id)
        .where(Letter.action_id == action.id, LetterDelivery.status.in_(WAITING))
    ).one()
    return letters, deliveries


def _sent_in_test_mode(action: LetterAction):  # noqa: ANN202 - a WHERE clause
    """Messages of the action's confirmed letters that went to the test inbox."""
    confirmed = select(Letter.id).where(
        Letter.action_id == action.id, Letter.status == LetterStatus.CONFIRMED
    )
    return (
        LetterDelivery.letter_id.in_(confirmed),
        LetterDelivery.status == LetterDeliveryStatus.SENT,
        LetterDelivery.test_mode.is_(True),
    )


def sent_in_test_mode(action: LetterAction) -> tuple[int, int]:
    """(letters, messages) that went to the test inbox, whose writers are still behind them."""
    letters, messages = db.session.execute(
        select(func.count(distinct(LetterDelivery.letter_id)), func.count()).where(
            *_sent_in_test_mode(action)
        )
    ).one()
    return letters, messages


def send_test_letters_live(action: LetterAction, staff: StaffUser) -> int:
    """Schedule again, for the policymakers themselves, the letters that supporters confirmed
    while the action was in test mode (each reached only the test inbox). They go at each
    target's pace like any other. Returns how many messages."""
    scheduled = db.session.execute(
        update(LetterDelivery)
        .where(*_sent_in_test_mode(action))
        .values(
            status=LetterDeliveryStatus.SCHEDULED,
            due_at=utcnow(),
            deferred_by=None,
            sent_at=None,
            claimed_at=None,
            test_mode=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    record(
        "letter_action.test_letters_sent_live",
        target=action,
        campaign_id=action.campaign_id,
        detail={"messages": scheduled},
        actor=staff,
    )
    return scheduled


# --- Who receives the letters -------------------------------------------------------------------


@dataclass
class CountryPreview:
    """Who receives the letter of a supporter from one country."""

    code: str
    name: str
    targets: list[Target]
    seats: dict[int, str]  # target id -> "LIBE chair"
    fallback: bool  # the rule found nobody: the fallback list is used

    @property
    def nobody(self) -> bool:
        return not self.targets


def seat_label(committee: str, role: CommitteeRole) -> str:
    return f"{committee} {SEAT_LABELS[CommitteeRole(role)]}"


def preview(action: LetterAction) -> list[CountryPreview]:
    """For every country a supporter can choose (and "another country"), in the order of the
    signing form: who `targets_for` finds."""
    rows = []
    choices = country_choices()
    selections = targets_for_each(action, [code for code, _name in choices])
    for code, name in choices:
        selection = selections[code]
        seats = {target_id: seat_label(*seat) for target_id, seat in selection.seats.items()}
        rows.append(CountryPreview(code, name, selection.targets, seats, selection.fallback))
    return rows


def reachable(rows: list[CountryPreview]) -> int:
    """How many different targets could receive letters, whatever the supporter's country."""
    return len({target.id for row in rows for target in row.targets})


def launch_warnings(action: LetterAction) -> list[str]:
    """What staff should know before the launch without it standing in the way: supporters of
    some countries would reach nobody."""
    nobody = [row.name for row in preview(action) if row.nobody]
    if not nobody:
        return []
    return [
        _(
            "Supporters from these countries would reach nobody: %(countries)s. Add targets to "
            "the fallback list in the letter settings.",
            countries=", ".join(nobody),
        )
    ]


# --- The choices of the settings form -----------------------------------------------------------


def committee_choices(saved: list[str]) -> list[tuple[str, int]]:
    """(code, active members) of every committee in the directory, LIBE, SANT and ENVI first;
    a saved code no longer in the directory stays listed (with 0), so saving keeps it."""
    counts = dict(
        db.session.execute(
            select(TargetCommittee.committee, func.count())
            .join(Target, Target.id == TargetCommittee.target_id)
            .where(Target.active.is_(True))
            .group_by(TargetCommittee.committee)
        ).all()
    )
    for code in saved:
        counts.setdefault(code, 0)
    first = [code for code in PREFERRED_COMMITTEES if code in counts]
    rest = sorted(code for code in counts if code not in PREFERRED_COMMITTEES)
    return [(code, counts[code]) for code in (*first, *rest)]


def group_choices(saved: str | None) -> list[str]:
    """The political groups of the active MEPs (and the saved one, should it be gone)."""
    groups = set(
        db.session.scalars(
            select(Target.political_group)
            .distinct()
            .where(
                Target.kind == TargetKind.MEP,
                Target.active.is_(True),
                Target.political_group.is_not(None),
                Target.political_group != "",
            )
        )
    )
    if saved:
        groups.add(saved)
    return sorted(groups, key=str.casefold)


def target_choices(action: LetterAction) -> list[Target]:
    """Who can be put on the named or fallback list: every target that can receive letters,
    and those already chosen (shown as such if they no longer can)."""
    chosen = {c.target_id for c in action.chosen}
    receiving = Target.active.is_(True) & Target.email.is_not(None) & Target.bounced_at.is_(None)
    condition = receiving | Target.id.in_(chosen) if chosen else receiving
    return list(db.session.scalars(select(Target).where(condition).order_by(Target.name)))


def target_label(target: Target) -> str:
    details = []
    if target.kind != TargetKind.MEP:
        details += [part for part in (target.role, target.institution) if part]
    if target.political_group:
        details.append(target.political_group)
    details.append(country_name(target.country) if target.country else _("EU-wide"))
    label = f"{target.name} ({', '.join(details)})"
    if not target.receives_letters:
        label += " – " + _("cannot receive letters now")
    return label


# --- Saving the settings ------------------------------------------------------------------------


@dataclass
class ActionSettings:
    rule: SelectionRule
    committees: list[str]
    political_group: str | None
    max_targets: int
    edit_policy: EditPolicy
    note_max: int
    body_max: int
    named: list[int]
    fallback: list[int]


def settings_of(action: LetterAction) -> ActionSettings:
    return ActionSettings(
        rule=SelectionRule(action.rule),
        committees=action.committee_list,
        political_group=action.political_group,
        max_targets=action.max_targets,
        edit_policy=EditPolicy(action.edit_policy),
        note_max=action.note_max,
        body_max=action.body_max,
        named=_ordered(action, NAMED),
        fallback=_ordered(action, FALLBACK),
    )


def _ordered(action: LetterAction, purpose: str) -> list[int]:
    chosen = sorted((c for c in action.chosen if c.purpose == purpose), key=lambda c: c.position)
    return [c.target_id for c in chosen]


def _set_chosen(action: LetterAction, purpose: str, target_ids: list[int]) -> None:
    existing = {c.target_id: c for c in action.chosen if c.purpose == purpose}
    for target_id, row in existing.items():
        if target_id not in target_ids:
            action.chosen.remove(row)  # delete-orphan: the row goes
    for position, target_id in enumerate(dict.fromkeys(target_ids)):
        row = existing.get(target_id)
        if row is None:
            action.chosen.append(
                ChosenTarget(target_id=target_id, purpose=purpose, position=position)
            )
        else:
            row.position = position


def save_settings(action: LetterAction, new: ActionSettings, staff: StaffUser) -> list[str]:
    """Apply `new`; returns the names of the settings that changed. Every save is audited,
    one that changed nothing too (it says so)."""
    old = vars(settings_of(action))
    values = vars(new)
    changed = [name for name, value in values.items() if old[name] != value]
    action.rule = new.rule
    action.committees = " ".join(new.committees)
    action.political_group = new.political_group or None
    action.max_targets = new.max_targets
    action.edit_policy = new.edit_policy
    action.note_max = new.note_max
    action.body_max = new.body_max
    _set_chosen(action, NAMED, new.named)
    _set_chosen(action, FALLBACK, new.fallback)
    record(
        "letter_action.updated",
        target=action,
        campaign_id=action.campaign_id,
        detail={
            "changed": changed,
            "values": {
                name: str(values[name]) if isinstance(values[name], str) else values[name]
                for name in changed
            },
        },
        actor=staff,
    )
    return changed
