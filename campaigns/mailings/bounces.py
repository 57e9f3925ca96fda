"""Bounces and complaints: delivery status notifications (RFC 3464) and feedback reports
(RFC 5965, ARF) that come back to the bounce mailbox or are posted to the webhook.

Each is matched to its delivery through the signed VERP envelope sender, so a notification whose
address is missing or forged suppresses nothing. Each is recorded once (keyed by its Message-ID),
and in the same transaction: a hard bounce marks the delivery bounced and suppresses the address,
a complaint suppresses it, soft bounces suppress it once too many messages to it failed for good.
A delay notice ("still being retried") is recorded, for staff to see, but never counts.

The same mailbox receives the unsubscribe requests of the `mailto:` in List-Unsubscribe: their
subject carries the recipient's signed unsubscribe token, and the address is unsubscribed at once.

What is stored or logged holds no address: diagnostics are redacted (servers quote the recipient),
and logs name deliveries, never addresses.
"""

from __future__ import annotations

import contextlib
import email
import hashlib
import imaplib
import logging
import poplib
import re
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from enum import StrEnum
from urllib.parse import SplitResult, unquote, urlsplit

from flask import current_app
from sqlalchemy import distinct, func, select, update
from sqlalchemy.exc import IntegrityError

from campaigns.core.db import utcnow
from campaigns.core.redact import redact_addresses
from campaigns.extensions import db
from campaigns.mailings.message import delivery_id_from_token, delivery_id_from_verp
from campaigns.mailings.models import (
    Bounce,
    BounceKind,
    Delivery,
    DeliveryStatus,
    SuppressionReason,
)
from campaigns.mailings.suppression import email_digest, suppress

log = logging.getLogger(__name__)

# RFC 1939 allows 512 octets a line, but real mail (HTML spam in a bounce mailbox) has longer
# ones, and poplib would stop the whole read at such a message, every time.
poplib._MAXLINE = max(poplib._MAXLINE, 1_000_000)

# Feedback types that mean "this recipient does not want this mail" (RFC 5965, section 7.3).
COMPLAINT_TYPES = {"abuse", "fraud"}
# ASCII digits only: \d would take any script's digits too.
_STATUS = re.compile(r"\b([245]\.[0-9]{1,3}\.[0-9]{1,3})\b")
_MAX_DIAGNOSTIC = 1000


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"  # this notification was recorded before
    IGNORED = "ignored"  # not a notification, or not about one of our deliveries
    UNSUBSCRIBED = "unsubscribed"  # a mail to the List-Unsubscribe mailto: address


@dataclass(frozen=True)
class Notification:
    kind: BounceKind
    final: bool  # the message will not arrive (a delayed one still may)
    addresses: tuple[str, ...]  # where our VERP address may appear, best first
    status: str | None
    diagnostic: str | None
    notification_id: str


# --- Reading a notification ------------------------------------------------------------------


def _header(message: Message, name: str) -> str:
    # str() also turns an undecodable header (8-bit junk) into text instead of failing.
    return re.sub(r"\s*\r?\n\s+", " ", str(message.get(name, ""))).strip()


def _addresses(message: Message, *names: str) -> list[str]:
    values = [str(v) for name in names for v in message.get_all(name, [])]
    return [address for _name, address in getaddresses(values) if address]


def _field_address(value: str) -> str:
    """`rfc822; someone@example.org` (the DSN and ARF way of naming an address)."""
    return value.partition(";")[2].strip() if ";" in value else value.strip()


def _notification_id(message: Message, raw: bytes) -> str:
    """The Message-ID, or a digest of the message when there is none (or it is too long):
    either way the same message read twice gets the same key."""
    message_id = _header(message, "Message-ID")
    if message_id and len(message_id) <= 300:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode() if message_id else raw).hexdigest()


def _original_headers(report: Message) -> Message | None:
    """The returned message's headers, when the report includes them."""
    for part in report.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
        elif content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                return BytesHeaderParser(policy=policy.compat32).parsebytes(data)
    return None


def _status_of(block: Message) -> str | None:
    for text in (_header(block, "Status"), _header(block, "Diagnostic-Code")):
        match = _STATUS.search(text)
        if match:
            return match.group(1)
    return None


def _delivery_status(report: Message) -> tuple[Message, Message] | None:
    """(per-message fields, the per-recipient fields of the failure or delay), if any."""
    part = next(
        (p for p in report.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    blocks = part.get_payload() if part is not None else None
    if not isinstance(blocks, list) or len(blocks) < 2:
        return None
    recipients = blocks[1:]
    for action in ("failed", "delayed"):  # a failure outweighs a delay in the same report
        for block in recipients:
            if _header(block, "Action").lower() == action:
                return blocks[0], block
    return None  # delivered, relayed or expanded: good news


def parse_notification(raw: bytes, envelope_recipient: str | None = None) -> Notification | None:
    """A bounce or a complaint, or None for anything else (an auto-reply, spam, a success
    notice). `envelope_recipient` is where it was sent, when the transport knows it."""
    message = email.message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        return None
    report_type = str(message.get_param("report-type") or "").lower()
    # The notification goes to the envelope sender of the original, our VERP address; the
    # receiving server usually records it in Delivered-To or X-Original-To.
    addresses = [envelope_recipient] if envelope_recipient else []
    addresses += _addresses(message, "Delivered-To", "X-Original-To", "To")
    if report_type == "delivery-status":
        found = _delivery_status(message)
        if found is None:
            return None
        per_message, recipient = found
        status = _status_of(recipient)
        final = _header(recipient, "Action").lower() == "failed"
        # A failure with a 4.x.x status (given up after days of retries) is still soft: the
        # address may work again.
        hard = final and not (status or "").startswith("4")
        kind = BounceKind.HARD if hard else BounceKind.SOFT
        diagnostic = _header(recipient, "Diagnostic-Code") or None
        addresses.append(_field_address(_header(per_message, "X-Postfix-Sender")))
    elif report_type == "feedback-report":
        part = next(
            (p for p in message.walk() if p.get_content_type() == "message/feedback-report"), None
        )
        payload = part.get_payload() if part is not None else None
        if not isinstance(payload, list) or not payload:
            return None
        fields = payload[0]
        feedback_type = _header(fields, "Feedback-Type").lower()
        if feedback_type not in COMPLAINT_TYPES:
            return None
        kind, final, status = BounceKind.COMPLAINT, False, None
        agent = _header(fields, "User-Agent")
        diagnostic = f"Feedback-Type: {feedback_type}" + (f" ({agent})" if agent else "")
        addresses.append(_field_address(_header(fields, "Original-Mail-From")))
    else:
        return None
    original = _original_headers(message)
    if original is not None:
        addresses += _addresses(original, "Return-Path")
    return Notification(
        kind=kind,
        final=final,
        addresses=tuple(a for a in addresses if a),
        status=status,
        diagnostic=_redacted(diagnostic),
        notification_id=_notification_id(message, raw),
    )


def _redacted(text: str | None) -> str | None:
    """Diagnostic text as it may be stored: without addresses (cut only after redacting, so no
    part of an address is left at the end), and not too long."""
    return redact_addresses(text)[:_MAX_DIAGNOSTIC] if text else None


# --- Recording it ------------------------------------------------------------------------------


def _delivery_for(addresses: tuple[str, ...]) -> Delivery | None:
    for address in addresses:
        delivery_id = delivery_id_from_verp(address)
        if delivery_id is not None:
            return db.session.get(Delivery, delivery_id)
    return None


def _soft_bounces(digest: str) -> int:
    """Deliveries to this address that failed softly for good lately. Only a final failure
    ("Action: failed", which marks the delivery bounced) counts: a delay notice says the message
    may still arrive, and a server sends several of them for one slow message. A delay notice
    and the final failure of one message count once."""
    since = utcnow() - timedelta(days=current_app.config["MAILING_SOFT_BOUNCE_DAYS"])
    return db.session.scalar(
        select(func.count(distinct(Bounce.delivery_id)))
        .join(Delivery, Delivery.id == Bounce.delivery_id)
        .where(
            Bounce.email_digest == digest,
            Bounce.kind == BounceKind.SOFT,
            Bounce.received_at >= since,
            Delivery.status == DeliveryStatus.BOUNCED,
        )
    )


def record(notification: Notification, source: str) -> Outcome:
    """Record a notification against its delivery and suppress the address if it must be."""
    delivery = _delivery_for(notification.addresses)
    if delivery is None:
        # Unmatched or forged: it must not suppress anyone.
        # Counted, not listed: the addresses may be anyone's (a supporter's among them).
        log.warning(
            "%s notification names none of our deliveries (%d addresses tried): ignored",
            source,
            len(notification.addresses),
        )
        return Outcome.IGNORED
    digest = email_digest(delivery.email)
    diagnostic = _redacted(notification.diagnostic)  # a webhook's may quote the address too
    try:
        with db.session.begin_nested():
            db.session.add(
                Bounce(
                    delivery_id=delivery.id,
                    email_digest=digest,
                    kind=notification.kind,
                    status_code=notification.status,
                    diagnostic=diagnostic,
                    source=source,
                    notification_id=notification.notification_id,
                )
            )
    except IntegrityError:
        db.session.rollback()
        return Outcome.DUPLICATE
    if notification.final:
        # Before counting: a final soft failure counts through its delivery being bounced.
        db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id, Delivery.status == DeliveryStatus.SENT)
            .values(
                status=DeliveryStatus.BOUNCED,
                error=" ".join(filter(None, (notification.status, diagnostic))),
            )
        )
    reason = detail = None
    if notification.kind == BounceKind.COMPLAINT:
        reason, detail = SuppressionReason.COMPLAINED, diagnostic
    elif notification.kind == BounceKind.HARD:
        reason = SuppressionReason.BOUNCED
        detail = " ".join(filter(None, (notification.status, diagnostic)))
    elif notification.final:  # a delay notice is recorded, but never counted
        soft = _soft_bounces(digest)
        if soft >= current_app.config["MAILING_SOFT_BOUNCE_LIMIT"]:
            reason = SuppressionReason.BOUNCED
            detail = f"{soft} soft bounces, the last: {notification.status or '?'}"
    if reason is None:
        db.session.commit()
    else:
        # Commits the bounce and the suppression together.
        suppress(delivery.email, reason, mailing_id=delivery.mailing_id, detail=detail)
    log.info(
        "%s %s bounce for delivery %s recorded%s",
        source,
        notification.kind,
        delivery.id,
        f"; address suppressed ({reason})" if reason else "",
    )
    return Outcome.RECORDED


# "unsubscribe <token>", as our List-Unsubscribe mailto: asks, perhaps after "Re:" or the like.
_UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_.-]{8,200})", re.IGNORECASE)


def unsubscribe_request(raw: bytes) -> int | None:
    """The delivery whose recipient asks to unsubscribe by mail (RFC 2369 mailto:), or None. The
    token is signed, so nobody can unsubscribe someone else by writing to us."""
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    match = _UNSUBSCRIBE_SUBJECT.search(_header(message, "Subject"))
    return delivery_id_from_token(match.group(1)) if match else None


def _unsubscribe(delivery_id: int, source: str) -> Outcome:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:  # erased since ("it wasn't me"): nothing left to send to
        return Outcome.IGNORED
    suppress(delivery.email, SuppressionReason.UNSUBSCRIBED, mailing_id=delivery.mailing_id)
    log.info("%s: delivery %s unsubscribed by mail", source, delivery_id)
    return Outcome.UNSUBSCRIBED


def process(raw: bytes, source: str, envelope_recipient: str | None = None) -> Outcome:
    """Read, match and record one message. A message that cannot be read is ignored; a database
    failure raises (the message should be kept and tried again)."""
    try:
        notification = parse_notification(raw, envelope_recipient)
        unsubscribe = unsubscribe_request(raw) if notification is None else None
    except Exception:  # a malformed message must never stop the reader
        log.warning("%s: unreadable message ignored", source, exc_info=True)
        return Outcome.IGNORED
    if unsubscribe is not None:
        return _unsubscribe(unsubscribe, source)
    if notification is None:
        log.info("%s: a message that is no bounce, complaint or unsubscribe was ignored", source)
        return Outcome.IGNORED
    return record(notification, source)


# --- The bounce mailbox ------------------------------------------------------------------------


class MailboxError(Exception):
    """The mailbox is misconfigured or refused us."""


# What can go wrong talking to a mailbox server: the caller logs it and tries again later.
MAILBOX_ERRORS = (OSError, EOFError, poplib.error_proto, imaplib.IMAP4.error, MailboxError)


@dataclass
class MailboxResult:
    recorded: int = 0
    duplicate: int = 0
    ignored: int = 0
    unsubscribed: int = 0
    kept: int = 0  # could not be recorded (database trouble): left for the next run

    def count(self, outcome: Outcome) -> None:
        setattr(self, str(outcome), getattr(self, str(outcome)) + 1)


def _handle(raw: bytes, result: MailboxResult) -> bool:
    """Process one message; True when it may be deleted from the mailbox."""
    try:
        outcome = process(raw, "mailbox")
    except Exception:
        db.session.rollback()
        log.exception("a bounce could not be recorded; it stays in the mailbox")
        result.kept += 1
        return False
    result.count(outcome)
    return True


def read_mailbox(url: str | None = None) -> MailboxResult:
    """Read the bounce mailbox once: process each message, delete the processed ones.
    Raises one of MAILBOX_ERRORS when the server cannot be reached or refuses us."""
    config = current_app.config
    location = urlsplit(url or config["BOUNCE_MAILBOX_URL"])
    if not location.hostname:
        raise MailboxError("BOUNCE_MAILBOX_URL names no host")
    timeout, limit = config["BOUNCE_MAILBOX_TIMEOUT"], config["BOUNCE_MAILBOX_BATCH"]
    if location.scheme in ("pop3", "pop3s"):
        return _read_pop3(location, timeout, limit)
    if location.scheme in ("imap", "imaps"):
        return _read_imap(location, timeout, limit)
    raise MailboxError(f"BOUNCE_MAILBOX_URL: unknown scheme {location.scheme!r}")


def _credentials(location: SplitResult) -> tuple[str, str]:
    return unquote(location.username or ""), unquote(location.password or "")


def _read_pop3(location: SplitResult, timeout: float, limit: int) -> MailboxResult:
    result = MailboxResult()
    if location.scheme == "pop3s":
        server = poplib.POP3_SSL(
            location.hostname,
            location.port or 995,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        server = poplib.POP3(location.hostname, location.port or 110, timeout=timeout)
    try:
        user, password = _credentials(location)
        server.user(user)
        server.pass_(password)
        count, _size = server.stat()
        for number in range(1, min(count, limit) + 1):
            _response, lines, _octets = server.retr(number)
            if _handle(b"\r\n".join(lines) + b"\r\n", result):
                server.dele(number)
        # Deletions take effect only now: if the connection breaks before, the messages are
        # read again next time, and recorded once all the same.
        server.quit()
    finally:
        server.close()
    return result


def _read_imap(location: SplitResult, timeout: float, limit: int) -> MailboxResult:
    result = MailboxResult()
    if location.scheme == "imaps":
        server = imaplib.IMAP4_SSL(
            location.hostname,
            location.port or 993,
            ssl_context=ssl.create_default_context(),
            timeout=timeout,
        )
    else:
        server = imaplib.IMAP4(location.hostname, location.port or 143, timeout=timeout)
    try:
        server.login(*_credentials(location))
        folder = unquote(location.path.lstrip("/")) or "INBOX"
        quoted = '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
        status, data = server.select(quoted)
        if status != "OK":
            raise MailboxError(f"cannot open the folder {folder!r}: {data!r}")
        status, data = server.uid("SEARCH", "UNDELETED")
        if status != "OK":
            raise MailboxError(f"cannot search the folder {folder!r}: {data!r}")
        deleted = 0
        for uid in (data[0] or b"").split()[:limit]:
            # PEEK: a message we fail on stays unread for a person looking at the mailbox.
            _status, data = server.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data or [] if isinstance(item, tuple)), None)
            if raw is not None and _handle(raw, result):
                server.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
                deleted += 1
        if deleted:
            server.expunge()
        server.logout()
    finally:
        if server.state != "LOGOUT":  # broke off: just close the connection
            with contextlib.suppress(OSError):
                server.shutdown()
    return result
