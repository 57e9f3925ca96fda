"""Writing a letter: a pending letter with its deliveries (one per target the supporter saw), its
consent record and its event, in one transaction; or mail to an address that wrote before.

The caller commits (`core.db.commit_unit_of_work`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.core.metrics import count_signature
from campaigns.extensions import db
from campaigns.lobbying.models import (
    Letter,
    LetterAction,
    LetterConsent,
    LetterDelivery,
    LetterStatus,
    Target,
)
from campaigns.lobbying.services import email_digest, normalize_email
from campaigns.networks.models import Network
from campaigns.petitions.consent import consent_text_id

LETTER_PURPOSE = "letter_delivery"


class WriteOutcome(enum.StrEnum):
    """What writing did. The page says "check your email" in every case, so that nobody learns
    from it whether an address has written; the email tells the owner."""

    CREATED = "created"  # a new pending letter; the confirmation mail is on its way
    RESENT = "resent"  # already pending; the confirmation mail is sent again
    REMINDED = "reminded"  # already confirmed; a "your letter is on its way" mail is sent
    THROTTLED = "throttled"  # wrote again moments after the last mail (or withdrew): no mail


@dataclass(frozen=True)
class LetterInput:
    name: str
    email: str
    country: str
    locale: str
    note: str = ""
    subject: str = ""
    body: str = ""
    source: str = ""  # the ?source= code of the member network that brought the supporter
    source_url: str | None = None


def write(
    action: LetterAction, data: LetterInput, targets: list[Target]
) -> tuple[WriteOutcome, int | None]:
    """Store the letter of `data` to `targets` (what the page showed), or mail the owner of an
    address that wrote before. Returns what happened and the letter's id."""
    digest = email_digest(data.email)
    existing = _existing(action.id, data.email, digest)
    if existing is None:
        letter = _new_letter(action, data, digest, targets)
        if letter is not None:
            count_signature("letter", "created")
            return WriteOutcome.CREATED, letter.id
        existing = _existing(action.id, data.email, digest)  # a twin request won the race
        if existing is None:
            return WriteOutcome.THROTTLED, None
    return _wrote_before(existing), existing.id


def _existing(action_id: int, email: str, digest: str) -> Letter | None:
    return db.session.scalar(
        select(Letter).where(
            Letter.action_id == action_id,
            or_(Letter.email == normalize_email(email), Letter.email_digest == digest),
        )
    )


def _new_letter(
    action: LetterAction, data: LetterInput, digest: str, targets: list[Target]
) -> Letter | None:
    now = utcnow()
    source = data.source.strip().lower()[:40]
    letter = Letter(
        action_id=action.id,
        status=LetterStatus.PENDING,
        email=normalize_email(data.email),
        email_digest=digest,
        name=data.name.strip(),
        country=data.country,
        locale=data.locale,
        note=data.note.strip() or None,
        subject=data.subject.strip() or None,
        body=data.body.strip() or None,
        # A deactivated network's code attributes nothing new.
        source_network_id=(
            db.session.scalar(
                select(Network.id).where(Network.slug == source, Network.is_active.is_(True))
            )
            if source
            else None
        ),
        source_url=data.source_url,
        confirmation_requested_at=now,
        created_at=now,
    )
    letter.deliveries = [LetterDelivery(target_id=target.id) for target in targets]
    text_id = consent_text_id(LETTER_PURPOSE, data.locale)
    try:
        with db.session.begin_nested():
            db.session.add(letter)
            db.session.flush()
    except IntegrityError:  # the same address, written a moment ago by a twin request
        return None
    db.session.add(
        LetterConsent(letter_id=letter.id, consent_text_id=text_id, granted=True, recorded_at=now)
    )
    record_event("letter.created", letter_id=letter.id)
    return letter


def _wrote_before(letter: Letter) -> WriteOutcome:
    """Mail the owner of the address again (the confirmation link, or a note that their letter is
    on its way), at most once per CONFIRMATION_RESEND_INTERVAL."""
    if letter.status == LetterStatus.REJECTED:
        return WriteOutcome.THROTTLED
    interval = timedelta(seconds=current_app.config["CONFIRMATION_RESEND_INTERVAL"])
    now = utcnow()
    claimed = db.session.execute(
        update(Letter)
        .where(
            Letter.id == letter.id,
            Letter.status.in_((LetterStatus.PENDING, LetterStatus.CONFIRMED)),
            Letter.confirmation_requested_at < now - interval,
        )
        .values(confirmation_requested_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return WriteOutcome.THROTTLED
    if letter.status == LetterStatus.CONFIRMED:
        record_event("letter.written_again", letter_id=letter.id)
        return WriteOutcome.REMINDED
    record_event("letter.confirmation_requested", letter_id=letter.id)
    return WriteOutcome.RESENT
