"""Rendering and sending mail. Only workers send; web requests record events instead.

Each email has three templates sharing one layout: `emails/<domain>/<name>.subject.txt`,
`<name>.txt` and `<name>.html`. `send_once()` makes a send idempotent under task retries and
redelivery: a `SentMail` row keyed by the caller's key is claimed before the SMTP transaction and
marked sent after it.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr

import flask_mail
from flask import current_app, render_template
from flask_babel import force_locale
from flask_mail import Message
from sqlalchemy import String, Text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from campaigns.core.db import UTCDateTime, utcnow
from campaigns.extensions import db, mail

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


class _SmtpConnections(threading.local):
    """One SMTP connection per worker process (or thread), reused from one mail to the next: a
    handshake per mail costs about as much as the mail. A connection left idle is closed before it
    is used again (servers drop idle clients), and any error closes it."""

    IDLE_SECONDS = 30.0

    def __init__(self) -> None:
        self.connections: dict[tuple, tuple[flask_mail.Connection, float]] = {}

    def send(self, message: Message) -> None:
        config = current_app.config
        target = (config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USERNAME"])
        connection, last_used = self.connections.pop(target, (None, 0.0))
        if connection is not None and time.monotonic() - last_used > self.IDLE_SECONDS:
            _close(connection)
            connection = None
        if connection is None:
            connection = mail.connect().__enter__()
        try:
            connection.send(message)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is closing the connection
                _close(connection)
            else:  # smtplib has reset the transaction: the connection is fine for the next mail
                self.connections[target] = (connection, time.monotonic())
            raise
        except BaseException:
            _close(connection)
            raise
        self.connections[target] = (connection, time.monotonic())


def _close(connection: flask_mail.Connection) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        if connection.host is not None:
            connection.host.quit()


_smtp = _SmtpConnections()


def header_safe(value: str) -> str:
    """Collapse CR, LF and other line breaks so no user input can start a new mail header."""
    return " ".join(str(value).split())


def _message_id_domain() -> str:
    domain = current_app.config["MAIL_MESSAGE_ID_DOMAIN"]
    if not domain:
        domain = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2]
    return domain or "localhost"


def render_email(template: str, locale: str, recipient: str, **context: object) -> Message:
    """Build a multipart (text + HTML) message from the three templates, in `locale`."""
    with force_locale(locale):
        subject = render_template(f"emails/{template}.subject.txt", **context)
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", locale=locale, **context)
    msg = Message(
        subject=header_safe(subject),
        recipients=[header_safe(recipient)],
        body=text,
        html=html,
        # RFC 3834: tell autoresponders (vacation replies) not to answer.
        extra_headers={"Auto-Submitted": "auto-generated", "Content-Language": locale},
    )
    msg.msgId = make_msgid(domain=_message_id_domain())
    return msg


def send_once(key: str, template: str, build: Callable[[], Message]) -> bool:
    """Send the message `build()` returns unless a mail with this `key` was already sent.

    Returns True if this call sent it. The claim is committed before talking to SMTP so two workers
    never both send; a claim older than MAIL_CLAIM_LEASE (a worker died mid-send) may be taken over.
    A crash between the server's acceptance and our commit can still repeat one mail: SMTP has no
    two-phase commit, and one duplicate is better than a lost confirmation. The task's hard time
    limit is shorter than the lease, so a hung SMTP connection cannot outlive its claim.
    """
    now = utcnow()
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_LEASE"])
    db.session.add(SentMail(key=key, template=template, status="sending", claimed_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.get(SentMail, key)
        if existing.status in ("sent", "failed"):
            return False
        takeover = db.session.execute(
            update(SentMail)
            .where(
                SentMail.key == key,
                SentMail.status == "sending",
                SentMail.claimed_at < now - lease,
            )
            .values(claimed_at=now)
        )
        db.session.commit()
        if takeover.rowcount != 1:
            raise MailClaimedElsewhere(key) from None

    try:
        message = build()
        _smtp.send(message)
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            _finish(key, "failed", error=f"{exc.smtp_code} {exc.smtp_error!r}")
            raise PermanentMailError(str(exc)) from exc
        _release(key)
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        if all(400 <= code < 500 for code in codes):  # greylisting: try again later
            _release(key)
            raise
        _finish(key, "failed", error=repr(exc.recipients))
        raise PermanentMailError(str(exc)) from exc
    except BaseException:  # anything else, even a time limit: give the claim back for the retry
        _release(key)
        raise
    _finish(key, "sent", message_id=message.msgId)
    return True


def _finish(key: str, status: str, **values: object) -> None:
    db.session.execute(
        update(SentMail)
        .where(SentMail.key == key)
        .values(status=status, sent_at=utcnow(), **values)
    )
    db.session.commit()


def _release(key: str) -> None:
    """Give the claim back after a transient failure, so the retry can take it at once."""
    db.session.rollback()
    db.session.execute(
        update(SentMail)
        .where(SentMail.key == key, SentMail.status == "sending")
        .values(claimed_at=utcnow() - timedelta(days=1))
    )
    db.session.commit()
