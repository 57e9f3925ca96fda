"""Rendering and sending mail. Only workers send; web requests record events instead.

Each email has three templates sharing one layout: `emails/<domain>/<name>.subject.txt`,
`<name>.txt` and `<name>.html`. `send_once()` makes a send idempotent under task retries and
redelivery: a `SentMail` row keyed by the caller's key is claimed before the SMTP transaction and
marked sent after it. `send_batch()` does the same for many mails with one claim transaction.
So these functions commit as they go, a deliberate exception to the one commit per task: a
claim must be visible to other workers before the mail goes out, and its outcome recorded as
soon as the server answered.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formatdate, make_msgid
from functools import cached_property

from flask import current_app
from sqlalchemy import ColumnElement, String, Text, Update, bindparam, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from campaigns.core.db import UTCDateTime, insert_unless_present, utcnow
from campaigns.core.mail_connection import SmtpConnections
from campaigns.core.mail_templates import render_parts
from campaigns.core.metrics import count_mails
from campaigns.core.mime import (
    alternative,
    encode_header,
    encode_sender,
    header_safe,
    message_id_domain,
    sender_address,
)
from campaigns.core.redact import redact_addresses
from campaigns.extensions import db

log = logging.getLogger(__name__)


class MailClaimedElsewhere(Exception):
    """Another worker claimed this mail moments ago; retry after its lease runs out."""


class PermanentMailError(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


class SentMail(db.Model):
    """One row per mail we intend to send exactly once (per confirmation request, per delivery)."""

    __tablename__ = "sent_mails"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    template: Mapped[str] = mapped_column(String(80), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # sending, sent, failed
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)


_smtp = SmtpConnections()


@dataclass
class Email:
    """A transactional mail to one address: a text and an HTML alternative, encoded directly
    (`core.mime`), which costs a fraction of building it with the `email` package."""

    sender: str
    to: str
    subject: str
    text: str
    html: str
    locale: str
    message_id: str
    reply_to: str = ""  # `Name <address>` where answers go (a letter's: its writer)
    extra_headers: tuple[tuple[str, str], ...] = ()  # e.g. a test-mode letter's X-Original-To

    @cached_property
    def envelope_to(self) -> str:
        """The recipient for the SMTP envelope and the To header, its domain in IDNA."""
        local, _, domain = self.to.rpartition("@")
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
        return f"{local}@{domain}"

    def encoded(self) -> tuple[bytes, bool]:
        """(the message's bytes, whether it needs SMTPUTF8: an address that is not ASCII even
        with its domain in IDNA, which only a server announcing SMTPUTF8 accepts)."""
        to = self.envelope_to
        content_type, body = alternative(self.text, self.html)
        extra = [("Reply-To", encode_sender(self.reply_to))] if self.reply_to else []
        extra += [(name, encode_header(value)) for name, value in self.extra_headers]
        head = (
            f"From: {encode_sender(self.sender)}\r\n"
            f"To: {to}\r\n"
            f"Subject: {encode_header(self.subject)}\r\n"
            f"Date: {formatdate(usegmt=True)}\r\n"
            f"Message-ID: {self.message_id}\r\n"
            # RFC 3834: tell autoresponders (vacation replies) not to answer.
            "Auto-Submitted: auto-generated\r\n"
            f"Content-Language: {self.locale}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in extra)
            + "MIME-Version: 1.0\r\n"
            f"{content_type}"
            "\r\n"
        )
        smtputf8 = not to.isascii() or not sender_address(self.reply_to).isascii()
        return (head + body).encode("utf-8" if smtputf8 else "ascii"), smtputf8

    def as_bytes(self) -> bytes:
        return self.encoded()[0]


def _message_id_domain() -> str:
    config = current_app.config
    return message_id_domain(config["MAIL_MESSAGE_ID_DOMAIN"], config["MAIL_DEFAULT_SENDER"])


def first_name(full_name: str | None) -> str:
    """What a mail greets a person by: the first word of the name they gave ("" for none)."""
    parts = (full_name or "").split()
    return parts[0] if parts else ""


def render_email(
    template: str,
    locale: str,
    recipient: str,
    per_mail: dict[str, str] | None = None,
    **context: object,
) -> Email:
    """Build a multipart (text + HTML) message from the three templates, in `locale`; the values
    of `per_mail` differ for each recipient, the rest is rendered once (core.mail_templates)."""
    subject, text, html = render_parts(template, locale, context, per_mail or {})
    return Email(
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        to=header_safe(recipient),
        subject=header_safe(subject),
        text=text,
        html=html,
        locale=locale,
        message_id=make_msgid(domain=_message_id_domain()),
    )


def send_once(key: str, template: str, build: Callable[[], Email]) -> bool:
    """Send the message `build()` returns unless a mail with this `key` was already sent.

    Returns True if this call sent it. The claim is committed before talking to SMTP so two workers
    never both send; a claim older than MAIL_CLAIM_LEASE (a worker died mid-send) may be taken over.
    A crash between the server's acceptance and our commit can still repeat one mail: SMTP has no
    two-phase commit, and one duplicate is better than a lost confirmation. The task's hard time
    limit is shorter than the lease, so a hung SMTP connection cannot outlive its claim.
    """
    now = utcnow()
    db.session.add(SentMail(key=key, template=template, status="sending", claimed_at=now))
    try:
        db.session.commit()  # the per-mail claim, committed before SMTP: no two workers send
    except IntegrityError:
        db.session.rollback()
        existing = db.session.get(SentMail, key)
        if existing.status in ("sent", "failed"):
            return False
        takeover = db.session.execute(
            update(SentMail).where(SentMail.key == key, _lapsed(now)).values(claimed_at=now)
        )
        db.session.commit()  # the claim taken over, before SMTP
        if takeover.rowcount != 1:
            raise MailClaimedElsewhere(key) from None

    try:
        message = build()
        _smtp.send(message)
    except BaseException as exc:  # even a time limit: give the claim back for the retry
        refusal = _permanent_refusal(exc)
        if refusal is None:
            _release([key])
            raise
        _finish(key, "failed", error=refusal)
        count_mails(template, failed=1)
        raise PermanentMailError(str(exc)) from exc
    _finish(key, "sent", message_id=message.message_id)
    count_mails(template, sent=1)
    return True


def _finish(key: str, status: str, **values: object) -> None:
    _record_outcome(key, status, **values)
    db.session.commit()  # the per-mail record: what the server answered, as soon as it did


def _record_outcome(key: str, status: str, **values: object) -> None:
    # A Core UPDATE (through the ORM it cost twice the CPU), built once per set of columns
    # (built per mail it cost as much again as running it; measured).
    params = {f"new_{name}": value for name, value in values.items()}
    params.update(mail_key=key, new_status=status, new_sent_at=utcnow())
    db.session.execute(_outcome_update(tuple(sorted(values))), params)


@functools.cache
def _outcome_update(names: tuple[str, ...]) -> Update:
    sent_mails = SentMail.__table__
    values = {name: bindparam(f"new_{name}") for name in ("status", "sent_at", *names)}
    return update(sent_mails).where(sent_mails.c.key == bindparam("mail_key")).values(values)


def _release(keys: list[str]) -> None:
    """Give claims back after a transient failure, so the retry can take them at once."""
    db.session.rollback()
    db.session.execute(
        update(SentMail)
        .where(SentMail.key.in_(keys), SentMail.status == "sending")
        .values(claimed_at=utcnow() - timedelta(days=1))
    )
    db.session.commit()  # handed back at once, for the retry


def _recipient_deferred(exc: BaseException) -> bool:
    """The server took the connection but asked to try this recipient later (4xx at RCPT)."""
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and all(
        400 <= code < 500 for code, _text in exc.recipients.values()
    )


def _permanent_refusal(exc: BaseException) -> str | None:
    """What to record if the server refused the message for good (5xx); None if a later try
    may succeed (4xx such as greylisting, a dropped connection, a time limit)."""
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        return f"{exc.smtp_code} {exc.smtp_error!r}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # an SMTPUTF8 address, a server without it
        return f"not supported by the server: {exc}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and not _recipient_deferred(exc):
        return repr(exc.recipients)
    return None


# -- batches ------------------------------------------------------------------------------------


@dataclass
class OutgoingMail:
    """One mail of a `send_batch()`. `settle()` runs in the transaction that records the mail's
    outcome (sent, refused, or found sent before), e.g. to mark the event that asked for it
    processed: then the two can never disagree."""

    key: str
    template: str
    build: Callable[[], Email]
    settle: Callable[[], None]


def send_batch(mails: list[OutgoingMail]) -> int:
    """Send the mails not sent yet over the one reused SMTP connection. Returns how many of them
    this call settled (sent, refused, or found sent before); not those another worker is sending
    or a recipient's server deferred.

    One transaction claims the whole batch. Each mail is then recorded as sent in a transaction of
    its own, right after the server accepted it: a worker killed mid-batch repeats at most the mail
    it was sending, exactly as with `send_once()` (recording the batch at the end would repeat all
    the mails sent before the kill). Mails another worker is sending are left to it. A refusal
    (5xx) is recorded and the batch goes on; a deferral of the recipient (4xx at RCPT) keeps the
    mail's claim, so it is tried again when the claim lapses, and the batch goes on; any other
    error gives this mail's claim and the following ones back and is raised, for the task to
    retry.
    """
    claimed, settled = _claim(mails)
    deferred = 0
    for position, outgoing in enumerate(claimed):
        try:
            message = outgoing.build()
            _smtp.send(message)
        except BaseException as exc:  # even a time limit: give the claims back for the retry
            if _recipient_deferred(exc):
                # Greylisting and the like concern this recipient only: the claim stays, so the
                # mail is tried again once it lapses, and the batch goes on. (Giving it back
                # would put the oldest mail first in every batch, and stop each one there.)
                log.info("mail %s deferred by the recipient's server", outgoing.key)
                deferred += 1
                continue
            refusal = _permanent_refusal(exc)
            if refusal is None:
                _release([m.key for m in claimed[position:]])
                raise
            log.warning("mail %s refused for good: %s", outgoing.key, redact_addresses(refusal))
            _settle(outgoing, "failed", error=refusal)
            continue
        _settle(outgoing, "sent", message_id=message.message_id)
    return settled + len(claimed) - deferred


def unclaimed(key: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL condition: no mail with this key was sent or refused, and none is being sent (unless
    its claim outlived the lease: the worker died). Selects work for a batch."""
    return ~exists().where(SentMail.key == key, ~_lapsed(utcnow()))


def _lapsed(now: datetime) -> ColumnElement[bool]:
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_LEASE"])
    return (SentMail.status == "sending") & (SentMail.claimed_at < now - lease)


def _claim(mails: list[OutgoingMail]) -> tuple[list[OutgoingMail], int]:
    """Claim, in one transaction, every mail nobody claimed, and take over claims that outlived
    their lease; settle the mails found already sent or refused. Returns the claimed ones and
    how many were settled."""
    now = utcnow()
    claimed = set()
    settled = 0
    if mails:
        claimed.update(
            db.session.scalars(
                insert_unless_present(SentMail)
                .values(
                    [
                        {
                            "key": m.key,
                            "template": m.template,
                            "status": "sending",
                            "claimed_at": now,
                        }
                        for m in mails
                    ]
                )
                .returning(SentMail.key)
            )
        )
    others = {m.key: m for m in mails if m.key not in claimed}
    if others:
        claimed.update(
            db.session.scalars(
                update(SentMail)
                .where(SentMail.key.in_(others), _lapsed(now))
                .values(claimed_at=now)
                .returning(SentMail.key)
            )
        )
        done_before = db.session.scalars(
            select(SentMail.key).where(SentMail.key.in_(others), SentMail.status != "sending")
        )
        for key in done_before:
            others[key].settle()
            settled += 1
    db.session.commit()  # the batch's claims, committed before SMTP: no two workers send
    return [m for m in mails if m.key in claimed], settled


def _settle(outgoing: OutgoingMail, status: str, **values: object) -> None:
    _record_outcome(outgoing.key, status, **values)
    outgoing.settle()
    db.session.commit()  # the per-mail record (with its event marked processed), at once
    count_mails(outgoing.template, sent=status == "sent", failed=status == "failed")
