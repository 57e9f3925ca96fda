"""Reading the bounce mailbox (POP3 or IMAP, as BOUNCE_MAILBOX_URL says): each message is
processed and committed (see bounces.py), then deleted; a message that could not be recorded
stays for the next run."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import poplib
import ssl
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from flask import current_app

from campaigns.extensions import db
from campaigns.mailings.bounces import Outcome, process

log = logging.getLogger(__name__)

# RFC 1939 allows 512 octets a line, but real mail (HTML spam in a bounce mailbox) has longer
# ones, and poplib would stop the whole read at such a message, every time.
poplib._MAXLINE = max(poplib._MAXLINE, 1_000_000)


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
        db.session.commit()  # before the message may be deleted from the mailbox
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
