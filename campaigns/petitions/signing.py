"""Signing a petition: a new signature with its consent records and its event in one
transaction (on PostgreSQL, one statement), or mail to an address that signed before (and its
network consent ticked this time, awaiting confirmation: see returning_consent.py).

The caller commits (`core.db.commit_unit_of_work`); on PostgreSQL a new signature is committed
already, by its statement in autocommit.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import (
    BindParameter,
    Column,
    Date,
    Insert,
    Select,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.db import autocommit, utcnow
from campaigns.core.events import Event, new_event_id, publish_committed, record_event
from campaigns.core.metrics import count_signature
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.consent import (
    NetworkConsent,
    consent_text_id,
    network_text_id,
    record_consents,
)
from campaigns.petitions.models import ConsentRecord, Petition, Signature, SignatureStatus
from campaigns.petitions.network_consent import accepted_network_consent
from campaigns.petitions.returning_consent import record_returning_consent
from campaigns.petitions.services import signing_target


class SignOutcome(enum.StrEnum):
    """What signing did. The page says the same ("check your email") in every case but CLOSED, so
    that nobody can learn from it whether an address has signed; the email tells the owner."""

    CREATED = "created"  # new pending signature; a confirmation mail is on its way
    RESENT = "resent"  # already pending; the confirmation mail is sent again
    REMINDED = "reminded"  # already confirmed; an "you have already signed" mail is sent
    THROTTLED = "throttled"  # signed again moments after the last mail: nothing is sent
    CLOSED = "closed"  # no petition of that name is open for signing: nothing is stored


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
    # The network whose box "<network> may contact me" the form showed (None: no box), and
    # whether it was ticked.
    network_consent_for: int | None = None
    network_consent: bool = False


def normalize_email(email: str) -> str:
    """Deduplication key: surrounding space removed, case folded (mail providers ignore case)."""
    return email.strip().lower()


def sign(slug: str, data: SignatureInput) -> tuple[SignOutcome, int | None]:
    """Sign the petition of campaign `slug` if it is open for signing; the caller commits with
    `core.db.commit_unit_of_work` (on PostgreSQL a new signature is committed already). Returns
    what happened and the id of the signature concerned (None when there is none).

    A new signature is stored with its consent records and its `signature.created` event in one
    transaction. An address that signed before gets mail instead (see `_signed_before`); a
    network's box ticked this time is recorded awaiting the confirmation of the address's owner
    (see `returning_consent`)."""
    params = _new_signature_params(slug, data)
    choices = {"signature": True, "public_name": data.show_name, "newsletter": data.newsletter}
    network = accepted_network_consent(
        data.network_consent_for, data.network_consent, params["source"], data.country
    )
    signature_id = _store_new_signature(params, choices, network)
    if signature_id is not None:
        count_signature("petition", "created")
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
    if network is not None:
        # Ticked this time: recorded awaiting the owner's confirmation (a pending signature's
        # own link confirms it; for a confirmed one the "already signed" mail asks, this one or,
        # if throttled, the next). Unticked: nothing is recorded, an earlier consent stands.
        record_returning_consent(existing.id, network, data.locale)
    return outcome, existing.id


# Every sign POST records these three consents (the signature's processing notice and the two
# boxes), and a fourth where the form showed the box "<network> may contact me".
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


def _store_new_signature(
    params: dict[str, object], choices: dict[str, bool], network: NetworkConsent | None = None
) -> int | None:
    """Store a pending signature, its consent records (`choices`, by purpose, and the choice on
    the box of `network`) and its event, all or nothing: in the session's transaction, or on
    PostgreSQL in one statement in autocommit. None if the petition is not open, or if this
    address signed it before: the unique constraint on (petition, email) finds those, also when
    two requests race (PostgreSQL makes the second wait for the first to commit, then skips
    it)."""
    locale = str(params["locale"])
    statements = _signing_statements(db.engine.dialect.name, with_network=network is not None)
    if statements.all_in_one is None:
        signature_id = db.session.execute(statements.signature, params).scalar()
        if signature_id is not None:
            record_consents(signature_id, locale, choices, params["now"], network)
            record_event("signature.created", signature_id=signature_id)
        return signature_id

    consents: dict[str, object] = {}
    for purpose in SIGNING_PURPOSES:
        consents[f"{purpose}_text"] = consent_text_id(purpose, locale)
        consents[f"{purpose}_granted"] = choices[purpose]
    if network is not None:
        consents["network_text"] = network_text_id(network, locale)
        consents["network_granted"] = network.granted
        consents["network_id"] = network.network_id
    if db.session.registry.has() and db.session().in_transaction():
        # The first signer of a new wording stored its consent text just now: the statement
        # below runs on a connection of its own and must find that row committed (or it would
        # wait for this transaction's lock, which waits for it).
        db.session.commit()  # a deliberate second commit: the new wording, before the signature
    event_id = new_event_id("signature.created")
    # One statement is a transaction by itself: run in autocommit (a deliberate exception to
    # the caller's commit), it needs no BEGIN and no COMMIT, two round trips of the three.
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
def _signing_statements(dialect_name: str, with_network: bool = False) -> _SigningStatements:
    """The statements of a new signature, built once per database dialect (and with or without
    the consent record of a network's box).

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
        # A deactivated network's code attributes nothing new.
        .where(
            Network.slug == bindparam("source", type_=Network.slug.type),
            Network.is_active.is_(True),
        )
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
    ctes = [consents.cte("new_consents"), created_event.cte("created_event")]
    if with_network:
        # "<network> may contact me", for the network it names. PostgreSQL runs every
        # data-modifying CTE to completion, referenced or not.
        network_consent = dialect.insert(consents_table).from_select(
            ["signature_id", "consent_text_id", "granted", "recorded_at", "network_id"],
            select(
                new.c.id,
                param("network_text", consents_table.c.consent_text_id),
                param("network_granted", consents_table.c.granted),
                now,
                param("network_id", consents_table.c.network_id),
            ),
        )
        ctes.append(network_consent.cte("new_network_consent"))
    all_in_one = select(new.c.id).add_cte(*ctes)
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
