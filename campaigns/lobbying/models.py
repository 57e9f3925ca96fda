"""Lobbying: the policymakers we write to (targets), letter actions, supporters' letters, their
delivery to each target at a pace offices accept, and the targets' answers."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime, utcnow
from campaigns.extensions import db


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


class TargetKind(enum.StrEnum):
    MEP = "mep"
    COMMISSIONER = "commissioner"
    AGENCY = "agency"  # the EU Drugs Agency (EUDA) and other EU bodies
    COUNCIL = "council"  # e.g. the chair of the Horizontal Working Party on Drugs
    PERMANENT_REPRESENTATION = "permanent_representation"
    MINISTRY = "ministry"
    OTHER = "other"


class CommitteeRole(enum.StrEnum):
    CHAIR = "chair"
    VICE_CHAIR = "vice-chair"
    MEMBER = "member"
    SUBSTITUTE = "substitute"


# Who comes first when a letter may go to only some members of a committee.
COMMITTEE_ROLE_RANK = {
    CommitteeRole.CHAIR: 0,
    CommitteeRole.VICE_CHAIR: 1,
    CommitteeRole.MEMBER: 2,
    CommitteeRole.SUBSTITUTE: 3,
}


class Target(TimestampMixin, db.Model):
    """A policymaker (or an office) letters are written to. Never deleted: one who left office is
    kept inactive, so the letters they received and their answers stay on record."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TargetKind] = mapped_column(_enum(TargetKind), nullable=False, index=True)
    # The European Parliament's identifier of an MEP: what the import matches rows by.
    ep_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    institution: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    country: Mapped[str | None] = mapped_column(String(2), index=True)  # None: EU-wide
    political_group: Mapped[str | None] = mapped_column(String(40))
    national_party: Mapped[str | None] = mapped_column(String(200))
    # Languages the target reads, most preferred first, space-separated codes ("fr en").
    languages: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    profile_url: Mapped[str | None] = mapped_column(String(300))
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="Europe/Brussels")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    left_office_on: Mapped[date | None] = mapped_column(Date)
    # Staff switched this target to one message a day listing that day's letters.
    daily_digest: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Set when a letter to this address bounced: later letters skip the target until staff fix it.
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounce_reason: Mapped[str | None] = mapped_column(String(300))
    # Pacing: the earliest time the next letter to this target may be scheduled, and when a
    # worker last took one to send (two takes are at least 3600 / pace seconds apart).
    next_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the API's `modified_date` says (and filters on): moved by hand (`touch`) when the
    # directory import, a staff edit or the in-office switch changes what the API shows. Not an
    # `onupdate`: pacing writes this row for every letter, and that is no change to the target.
    modified_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False, index=True
    )

    committees: Mapped[list[TargetCommittee]] = relationship(
        back_populates="target", cascade="all, delete-orphan", order_by="TargetCommittee.committee"
    )

    @property
    def language_list(self) -> list[str]:
        return self.languages.split()

    @property
    def receives_letters(self) -> bool:
        return self.active and bool(self.email) and self.bounced_at is None

    def touch(self) -> None:
        """Something the API shows changed: a field, a committee seat, being in office."""
        self.modified_at = utcnow()

    def __repr__(self) -> str:
        return f"<Target {self.id} {self.name}>"


class TargetCommittee(db.Model):
    """An MEP's seat on a committee or delegation (code as the Parliament writes it: LIBE, SANT)."""

    __tablename__ = "target_committees"

    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), primary_key=True)
    committee: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)
    role: Mapped[CommitteeRole] = mapped_column(_enum(CommitteeRole), nullable=False)

    target: Mapped[Target] = relationship(back_populates="committees")


class SelectionRule(enum.StrEnum):
    OWN_COUNTRY = "own_country"  # the MEPs of the supporter's country (chosen committees first)
    COMMITTEES = "committees"  # members of the chosen committees, chairs and vice-chairs first
    GROUP = "group"  # the MEPs of one political group (of the supporter's country first)
    NAMED = "named"  # a list staff chose


class EditPolicy(enum.StrEnum):
    FIXED = "fixed"  # the letter as written
    NOTE = "note"  # the supporter may add a paragraph of their own
    FULL = "full"  # the supporter may rewrite subject and body within the length limit


class LetterAction(db.Model):
    """The lobbying side of a campaign of kind "letter": who receives it, what a supporter may
    change, and whether its letters reach the real targets."""

    __tablename__ = "letter_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id"), unique=True, nullable=False
    )
    rule: Mapped[SelectionRule] = mapped_column(
        _enum(SelectionRule), nullable=False, default=SelectionRule.OWN_COUNTRY
    )
    committees: Mapped[str] = mapped_column(String(200), nullable=False, default="")  # "LIBE SANT"
    political_group: Mapped[str | None] = mapped_column(String(40))
    # The most targets one letter goes to.
    max_targets: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    edit_policy: Mapped[EditPolicy] = mapped_column(
        _enum(EditPolicy), nullable=False, default=EditPolicy.NOTE
    )
    note_max: Mapped[int] = mapped_column(Integer, nullable=False, default=1000)
    body_max: Mapped[int] = mapped_column(Integer, nullable=False, default=5000)
    # An admin switched the letters to the real targets (LOBBYING_DELIVERY=live is needed too).
    live: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    live_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    live_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    campaign = relationship("Campaign", back_populates="letter_action")
    chosen: Mapped[list[ChosenTarget]] = relationship(
        back_populates="action", cascade="all, delete-orphan"
    )

    @property
    def committee_list(self) -> list[str]:
        return self.committees.split()

    def chosen_ids(self, purpose: str) -> list[int]:
        return [c.target_id for c in self.chosen if c.purpose == purpose]


class ChosenTarget(db.Model):
    """A target staff named for an action: on its named list, or on its fallback list (for a
    supporter no rule finds anyone for: Norway has no MEPs)."""

    __tablename__ = "letter_action_targets"

    action_id: Mapped[int] = mapped_column(ForeignKey("letter_actions.id"), primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)  # "named" or "fallback"
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    action: Mapped[LetterAction] = relationship(back_populates="chosen")
    target: Mapped[Target] = relationship()


class LetterStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Letter(TimestampMixin, db.Model):
    """One supporter's letter in one action. Its deliveries (one per target) are fixed when it is
    written, so the policymakers it reaches are exactly those the supporter saw."""

    __tablename__ = "letters"
    __table_args__ = (
        UniqueConstraint("action_id", "email"),
        # A keyed hash of the address, kept after a withdrawal: a person writes once, ever.
        UniqueConstraint("action_id", "email_digest"),
        # The public pages count an action's confirmed letters on every view: from the index
        # alone (2 ms at 50,000 letters on PostgreSQL, 24 ms through the unique index above).
        Index("ix_letters_action_status", "action_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("letter_actions.id"), nullable=False)
    status: Mapped[LetterStatus] = mapped_column(
        _enum(LetterStatus), nullable=False, default=LetterStatus.PENDING
    )
    email: Mapped[str | None] = mapped_column(String(254))
    email_digest: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    # What the supporter changed: a paragraph of their own, or (FULL) their own subject and body.
    note: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    source_network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"))
    source_url: Mapped[str | None] = mapped_column(String(300))
    confirmation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    action: Mapped[LetterAction] = relationship()
    deliveries: Mapped[list[LetterDelivery]] = relationship(
        back_populates="letter", order_by="LetterDelivery.id"
    )
    consents: Mapped[list[LetterConsent]] = relationship(back_populates="letter")


class LetterConsent(db.Model):
    """What the supporter was shown and agreed to for the purpose "letter delivery"."""

    __tablename__ = "letter_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), nullable=False, index=True)
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_texts.id"), nullable=False)
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    letter: Mapped[Letter] = relationship(back_populates="consents")
    consent_text = relationship("ConsentText")


class LetterDeliveryStatus(enum.StrEnum):
    AWAITING_CONFIRMATION = "awaiting"  # the supporter has not confirmed yet
    SCHEDULED = "scheduled"  # due at `due_at`
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    IN_DIGEST = "digest"  # waits for the target's daily digest
    BOUNCED = "bounced"
    FAILED = "failed"
    SKIPPED = "skipped"  # the target left office or its address bounced before
    CANCELLED = "cancelled"  # the letter was withdrawn before it went


class LetterDelivery(db.Model):
    """One letter to one target: the unit the scheduler paces and a worker sends exactly once."""

    __tablename__ = "letter_deliveries"
    __table_args__ = (
        UniqueConstraint("letter_id", "target_id"),
        Index("ix_letter_deliveries_due", "status", "due_at"),
        Index("ix_letter_deliveries_target", "target_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), nullable=False)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), nullable=False)
    status: Mapped[LetterDeliveryStatus] = mapped_column(
        _enum(LetterDeliveryStatus),
        nullable=False,
        default=LetterDeliveryStatus.AWAITING_CONFIRMATION,
    )
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it waits: "pace" (the target's hourly pace) or "office_hours"; None when it goes at once.
    deferred_by: Mapped[str | None] = mapped_column(String(16))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Sent to LOBBYING_TEST_INBOX instead of the target (test mode).
    test_mode: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(String(300))

    letter: Mapped[Letter] = relationship(back_populates="deliveries")
    target: Mapped[Target] = relationship()


class Position(enum.StrEnum):
    SUPPORTS = "supports"
    OPPOSES = "opposes"
    UNDECIDED = "undecided"
    NO_REPLY = "no_reply"


class TargetResponse(TimestampMixin, db.Model):
    """A target's answer to a letter action, as staff logged it (the latest one counts)."""

    __tablename__ = "target_responses"
    __table_args__ = (Index("ix_target_responses_action", "action_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("letter_actions.id"), nullable=False)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), nullable=False)
    responded_on: Mapped[date] = mapped_column(Date, nullable=False)
    position: Mapped[Position] = mapped_column(_enum(Position), nullable=False)
    quote: Mapped[str | None] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(300))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    target: Mapped[Target] = relationship()
