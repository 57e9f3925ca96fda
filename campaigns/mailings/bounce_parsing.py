"""Reading bounces and complaints: delivery status notifications (RFC 3464), feedback reports
(RFC 5965, ARF), and unsubscribe requests by mail (the `mailto:` of List-Unsubscribe, whose
subject carries the recipient's signed token). Pure parsing: nothing here touches the database.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from campaigns.core.redact import redact_addresses
from campaigns.mailings.message import delivery_id_from_token
from campaigns.mailings.models import BounceKind

# Feedback types that mean "this recipient does not want this mail" (RFC 5965, section 7.3).
COMPLAINT_TYPES = {"abuse", "fraud"}
# ASCII digits only: \d would take any script's digits too.
_STATUS = re.compile(r"\b([245]\.[0-9]{1,3}\.[0-9]{1,3})\b")
_MAX_DIAGNOSTIC = 1000


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
        diagnostic=redacted(diagnostic),
        notification_id=_notification_id(message, raw),
    )


_UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_.-]{8,200})", re.IGNORECASE)


def unsubscribe_request(raw: bytes) -> int | None:
    """The delivery whose recipient asks to unsubscribe by mail (RFC 2369 mailto:), or None. The
    token is signed, so nobody can unsubscribe someone else by writing to us."""
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    match = _UNSUBSCRIBE_SUBJECT.search(_header(message, "Subject"))
    return delivery_id_from_token(match.group(1)) if match else None


def redacted(text: str | None) -> str | None:
    """Diagnostic text as it may be stored: without addresses (cut only after redacting, so no
    part of an address is left at the end), and not too long."""
    return redact_addresses(text)[:_MAX_DIAGNOSTIC] if text else None
