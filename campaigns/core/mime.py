"""Encoding mail by hand: headers and a text + HTML `multipart/alternative`, straight to bytes.

The `email` package builds an object tree and parses every header again on the way out, which
costs more CPU than rendering and sending the mail together. Everything we send has the same
simple shape, so transactional mail (`core.mail`) and bulk mail (`mailings.message`) both use
these helpers instead.
"""

from __future__ import annotations

import base64
import uuid
from email.header import Header
from email.utils import parseaddr, quote
from functools import lru_cache


def header_safe(value: str) -> str:
    """Collapse CR, LF and other line breaks so no user input can start a new mail header."""
    return " ".join(str(value).split())


def encode_header(value: str) -> str:
    """A header value on one line, RFC 2047-encoded when it is not plain ASCII."""
    value = header_safe(value)
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


@lru_cache(maxsize=64)  # the same few senders, in every message
def sender_address(sender: str) -> str:
    """The address of a `Name <address>` sender."""
    return parseaddr(sender)[1]


def message_id_domain(configured: str, sender: str) -> str:
    """The domain of our Message-IDs: the configured one, else the sender's."""
    return configured or sender_address(sender).rpartition("@")[2] or "localhost"


@lru_cache(maxsize=64)
def encode_sender(sender: str) -> str:
    """`Name <address>` with the name quoted or encoded as it needs."""
    name, address = parseaddr(sender)
    if not name:
        return address
    if name.isascii():
        # Quoted with its quotes and backslashes escaped: a name someone typed (a letter's
        # writer) can never add an address of its own.
        return (
            f'"{quote(name)}" <{address}>'
            if any(c in name for c in ',;:"()<>@[]\\.')
            else f"{name} <{address}>"
        )
    return f"{Header(name, 'utf-8').encode()} <{address}>"


def _base64_body(text: str) -> str:
    return base64.encodebytes(text.encode("utf-8")).decode("ascii").replace("\n", "\r\n")


def alternative(text: str, html: str) -> tuple[str, str]:
    """(Content-Type header line, body) of a text and an HTML alternative, both UTF-8 in base64
    (which no line length limit or stray dot can break)."""
    boundary = "=_" + uuid.uuid4().hex
    content_type = f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
    body = (
        f"--{boundary}\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{_base64_body(text)}"
        f"--{boundary}\r\n"
        'Content-Type: text/html; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{_base64_body(html)}"
        f"--{boundary}--\r\n"
    )
    return content_type, body
