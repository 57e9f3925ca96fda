"""Signing, confirming and rejecting signatures. Services flush and the caller commits, except
`sign()`, which is the whole of a sign POST's work and commits itself."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import (
    BindParameter,
    Column,
    Date,
    Insert,
    Select,
    bindparam,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager

from campaigns.campaign.models import PUBLIC_STATUSES, Campaign, CampaignStatus
from campaigns.core.db import autocommit, utcnow
from campaigns.core.events import Event, new_event_id, publish_committed, record_event
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.consent import consent_text_id, record_consents
from campaigns.petitions.models import ConsentRecord, Petition, Signature, SignatureStatus


class SignOutcome(enum.StrEnum):
    """What signing did. The page says the same ("check your email") in every case but CLOSED, so
    that nobody can learn from it whether an address has signed; the email tells the owner."""

    CREATED = "created"  # new pending signature; a confirmation mail is on its way
    RESENT = "resent"  # already pending; the confirmation mail is sent again
    REMINDED = "reminded"  # already confirmed; an "you have already signed" mail is sent
    THROTTLED = "throttled"  # signed again moments after the last mail: nothing is sent
    CLOSED = "closed"  # no petition of that name is open for signing: nothing is stored


class TokenError(Exception):
    """A confirmation or rejection link that is malformed or not ours."""


class TokenExpired(TokenError):
    """A link that was ours but is too old."""


@dataclass(frozen=True)
class SignatureInput:
    name: str
    email: str
    country: str
    comment: str
    show_name: bool
    newsletter: bool
    locale: str
    source: str = ""  # the ?source= code of the member network that brought the signer
    source_url: str | None = None


def normalize_email(email: str) -> str:
    """Deduplication key: surrounding space removed, case folded (mail providers ignore case)."""
    return email.strip().lower()


def live_petition(slug: str) -> Petition | None:
    """The petition of a publicly visible campaign, or None."""
    return db.session.scalar(
        select(Petition)
        .join(Campaign)
        .options(contains_eager(Petition.campaign))
        .where(Campaign.slug == slug, Campaign.status.in_(PUBLIC_STATUSES))
    )


@dataclass(frozen=True)
class SigningTarget:
    """What signing needs to know about a petition, read without loading the ORM objects."""

    petition_id: int
    status: CampaignStatus
    deadline: date | None

    @property
    def accepts_signatures(self) -> bool:
        return _open_for_signing(self.status, self.deadline)


# Built once: constructing the statement cost a fifth of reading the row.
_SIGNING_TARGET = (
    select(Petition.id, Campaign.status, Petition.deadline)
    .join(Campaign)
    .where(Campaign.slug == bindparam("slug"), Campaign.status.in_(PUBLIC_STATUSES))
)


def signing_target(slug: str) -> SigningTarget | None:
    """The petition a sign POST is for, if its campaign is publicly visible."""
    row = db.session.execute(_SIGNING_TARGET, {"slug": slug}).one_or_none()
    return SigningTarget(*row) if row else None


def recent_public_signers(petition_id: int, limit: int = 10) -> list[tuple[str, str]]:
    """(name, country) of the latest confirmed signers who chose to show their name."""
    return [
        (name, country)
        for name, country in db.session.execute(
            select(Signature.name, Signature.country)
            .where(
                Signature.petition_id == petition_id,
                Signature.status == SignatureStatus.CONFIRMED,
                Signature.show_name.is_(True),
            )
            .order_by(Signature.confirmed_at.desc())
            .limit(limit)
        )
    ]


def accepts_signatures(petition: Petition) -> bool:
    return _open_for_signing(petition.campaign.status, petition.deadline)


def _open_for_signing(status: CampaignStatus, deadline: date | None) -> bool:
    return status == CampaignStatus.LIVE and (deadline is None or utcnow().date() <= deadline)


def sign(slug: str, data: SignatureInput) -> tuple[SignOutcome, int | None]:
    """Sign the petition of campaign `slug` if it is open for signing, and commit. Returns what
    happened and the id of the signature concerned (None when there is none).

    A new signature is stored with its consent records and its `signature.created` event in one
    transaction. An address that signed before gets mail instead (see `_signed_before`)."""
    params = _new_signature_params(slug, data)
    choices = {"signature": True, "public_name": data.show_name, "newsletter": data.newsletter}
    signature_id = _store_new_signature(params, choices)
    if signature_id is not None:
        return SignOutcome.CREATED, signature_id
    # Not new, or not open: most signers are new, so only now is it worth a look.
    target = signing_target(slug)
    if target is None or not target.accepts_signatures:
        return SignOutcome.CLOSED, None
    existing = db.session.execute(
        select(Signature.id, Signature.status).where(
            Signature.petition_id == target.petition_id, Signature.email == params["email"]
        )
    ).one_or_none()
    if existing is None:  # withdrawn ("it wasn't me") since the insert looked: nothing to send
        return SignOutcome.THROTTLED, None
    outcome = _signed_before(*existing)
    db.session.commit()
    return outcome, existing.id


# Every sign POST records these three consents (the signature's processing notice and the two
# boxes).
SIGNING_PURPOSES = ("signature", "public_name", "newsletter")


def _new_signature_params(slug: str, data: SignatureInput) -> dict[str, object]:
    now = utcnow()
    return {
        "slug": slug,
        "today": now.date(),
        "now": now,
        "email": normalize_email(data.email),
        "name": data.name.strip(),
        "country": data.country,
        "comment": data.comment.strip() or None,
        "show_name": data.show_name,
        "locale": data.locale,
        "source": data.source.strip().lower()[:40] or None,
        "source_url": data.source_url,
    }


def _store_new_signature(params: dict[str, object], choices: dict[str, bool]) -> int | None:
    """Store and commit a pending signature, its consent records (`choices`, by purpose) and its
    event, all or nothing. None if the petition is not open, or if this address signed it
    before: the unique constraint on (petition, email) finds those, also when two requests race
    (PostgreSQL makes the second wait for the first to commit, then skips it)."""
    locale = str(params["locale"])
    statements = _signing_statements(db.engine.dialect.name)
    if statements.all_in_one is None:
        signature_id = db.session.execute(statements.signature, params).scalar()
        if signature_id is not None:
            record_consents(signature_id, locale, choices, params["now"])
            record_event("signature.created", signature_id=signature_id)
            db.session.commit()
        return signature_id

    consents = {}
    for purpose in SIGNING_PURPOSES:
        consents[f"{purpose}_text"] = consent_text_id(purpose, locale)
        consents[f"{purpose}_granted"] = choices[purpose]
    if db.session.registry.has() and db.session().in_transaction():
        # The first signer of a new wording stored its consent text just now: the statement
        # below runs on a connection of its own and must find that row committed (or it would
        # wait for this transaction's lock, which waits for it).
        db.session.commit()
    event_id = new_event_id("signature.created")
    # One statement is a transaction by itself: run in autocommit, it needs no BEGIN and no
    # COMMIT, two round trips of the three.
    with autocommit(db.engine).connect() as connection:
        signature_id = connection.execute(
            statements.all_in_one, {**params, **consents, "event_id": event_id}
        ).scalar()
    if signature_id is not None:
        publish_committed(event_id, "signature.created")
    return signature_id


@dataclass(frozen=True)
class _SigningStatements:
    signature: Insert  # the signature alone, RETURNING its id
    all_in_one: Select | None  # signature, consents and event in one statement, where possible


@functools.cache
def _signing_statements(dialect_name: str) -> _SigningStatements:
    """The statements of a new signature, built once per database dialect.

    On PostgreSQL the three INSERTs are one statement (data-modifying CTEs): each statement is a
    round trip to the server, and signing is the busiest write there is. SQLite has no such
    CTEs; being in the process, it has no round trips either."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    signatures = Signature.__table__

    def param(name: str, column: Column) -> BindParameter:
        return bindparam(name, type_=column.type)

    now = param("now", signatures.c.created_at)
    new_row = {
        "petition_id": Petition.id,
        "status": literal(SignatureStatus.PENDING, signatures.c.status.type),
        "email": param("email", signatures.c.email),
        "name": param("name", signatures.c.name),
        "country": param("country", signatures.c.country),
        "comment": param("comment", signatures.c.comment),
        "show_name": param("show_name", signatures.c.show_name),
        "locale": param("locale", signatures.c.locale),
        "source_network_id": select(Network.id)
        .where(Network.slug == bindparam("source", type_=Network.slug.type))
        .scalar_subquery(),
        "source_url": param("source_url", signatures.c.source_url),
        "confirmation_requested_at": now,
        "created_at": now,
    }
    # The row is selected only from a petition open for signing (see _open_for_signing).
    from_open_petition = (
        select(*new_row.values())
        .select_from(Petition)
        .join(Campaign)
        .where(
            Campaign.slug == bindparam("slug"),
            Campaign.status == CampaignStatus.LIVE,
            or_(Petition.deadline.is_(None), Petition.deadline >= bindparam("today", type_=Date)),
        )
    )
    signature = (
        dialect.insert(signatures)
        .from_select(list(new_row), from_open_petition)
        .on_conflict_do_nothing()
        .returning(signatures.c.id)
    )
    if dialect_name != "postgresql":
        return _SigningStatements(signature, None)

    new = signature.cte("new_signature")
    consents_table = ConsentRecord.__table__
    consents = dialect.insert(consents_table).from_select(
        ["signature_id", "consent_text_id", "granted", "recorded_at"],
        union_all(
            *(
                select(
                    new.c.id,
                    param(f"{purpose}_text", consents_table.c.consent_text_id),
                    param(f"{purpose}_granted", consents_table.c.granted),
                    now,
                )
                for purpose in SIGNING_PURPOSES
            )
        ),
    )
    events_table = Event.__table__
    created_event = dialect.insert(events_table).from_select(
        ["id", "type", "payload", "created_at"],
        select(
            param("event_id", events_table.c.id),
            literal("signature.created", events_table.c.type.type),
            # JSON equivalent to what record_event() writes: {"signature_id": <id>}.
            func.json_build_object(literal_column("'signature_id'"), new.c.id),
            now,
        ),
    )
    all_in_one = select(new.c.id).add_cte(
        consents.cte("new_consents"), created_event.cte("created_event")
    )
    return _SigningStatements(signature, all_in_one)


def _signed_before(signature_id: int, status: SignatureStatus) -> SignOutcome:
    """Mail the owner of the address again (the confirmation link, or a note that their signature
    already counts), at most once per CONFIRMATION_RESEND_INTERVAL."""
    interval = timedelta(seconds=current_app.config["CONFIRMATION_RESEND_INTERVAL"])
    now = utcnow()
    # A conditional update, so two quick submissions cannot both send a mail.
    claimed = db.session.execute(
        update(Signature)
        .where(
            Signature.id == signature_id,
            Signature.status.in_((SignatureStatus.PENDING, SignatureStatus.CONFIRMED)),
            Signature.confirmation_requested_at < now - interval,
        )
        .values(confirmation_requested_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return SignOutcome.THROTTLED
    if status == SignatureStatus.CONFIRMED:
        record_event("signature.signed_again", signature_id=signature_id)
        return SignOutcome.REMINDED
    record_event("signature.confirmation_requested", signature_id=signature_id)
    return SignOutcome.RESENT


def confirm(signature: Signature) -> bool:
    """Confirm a pending signature. Returns True only for the request that confirmed it."""
    now = utcnow()
    done = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.status == SignatureStatus.PENDING)
        .values(status=SignatureStatus.CONFIRMED, confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.signature_id == signature.id)
        .values(confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    record_event("signature.confirmed", signature_id=signature.id)
    db.session.flush()
    db.session.refresh(signature)
    return True


def reject(signature: Signature) -> bool:
    """'It wasn't me': withdraw the signature and erase the personal data it held."""
    erase = {
        "status": SignatureStatus.REJECTED,
        "rejected_at": utcnow(),
        "email": None,
        "name": None,
        "comment": None,
        "show_name": False,
    }
    # Conditional updates, so that a confirmation racing this click is seen either way.
    for previous in (SignatureStatus.CONFIRMED, SignatureStatus.PENDING):
        done = db.session.execute(
            update(Signature)
            .where(Signature.id == signature.id, Signature.status == previous)
            .values(**erase)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            record_event(
                "signature.rejected",
                signature_id=signature.id,
                was_confirmed=previous == SignatureStatus.CONFIRMED,
            )
            db.session.flush()
            db.session.refresh(signature)
            return True
    return False


def purge_unconfirmed(older_than: timedelta) -> int:
    """Delete signatures never confirmed within `older_than`, with their consent records, as the
    privacy notice promises. Returns how many were deleted."""
    cutoff = utcnow() - older_than
    stale = select(Signature.id).where(
        Signature.status == SignatureStatus.PENDING, Signature.created_at < cutoff
    )
    ids = db.session.scalars(stale.limit(5000)).all()
    if ids:
        db.session.execute(delete(ConsentRecord).where(ConsentRecord.signature_id.in_(ids)))
        db.session.execute(delete(Signature).where(Signature.id.in_(ids)))
    return len(ids)


# -- links in the confirmation mail -----------------------------------------------------------


def _serializer(action: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"signature-{action}")


def make_token(signature_id: int, action: str) -> str:
    return _serializer(action).dumps(signature_id)


def signature_from_token(token: str, action: str) -> Signature:
    # An "it wasn't me" link never expires: it only ever removes, and the privacy notice
    # promises that the link in our emails withdraws a signature at any time.
    max_age = current_app.config["CONFIRMATION_MAX_AGE"] if action == "confirm" else None
    try:
        signature_id = _serializer(action).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenExpired from exc
    except BadSignature as exc:
        raise TokenError from exc
    signature = db.session.get(Signature, signature_id) if isinstance(signature_id, int) else None
    if signature is None:
        raise TokenError
    return signature
