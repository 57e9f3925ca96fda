"""A built-in SMTP mail catcher for the embedded stack (`make run`) and end-to-end tests.

It accepts every message on a local SMTP port (no authentication, no relaying) and stores it,
byte for byte, in a `mailbox.Maildir`. Two headers are prepended to each stored message so the
SMTP envelope is not lost: ``X-Envelope-From`` and ``X-Envelope-To`` (recipients comma-separated).

``list_messages`` and ``get_message`` read that Maildir back (for a staff "outbox" screen, and for
tests). Run it on its own with::

    python -m campaigns.devstack.mailcatcher.server --host 127.0.0.1 --port 1025 --maildir instance/mail
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import mailbox
import os
import re
import signal
import socket
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

ENVELOPE_FROM = "X-Envelope-From"
ENVELOPE_TO = "X-Envelope-To"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _header_value(value: str) -> str:
    # Envelope addresses come from the client: never let them break out of the header line.
    return value.replace("\r", " ").replace("\n", " ")


class _MaildirHandler:
    """aiosmtpd handler: every DATA command becomes one file in the Maildir."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        prefix = (
            f"{ENVELOPE_FROM}: {_header_value(envelope.mail_from or '')}\r\n"
            f"{ENVELOPE_TO}: {_header_value(', '.join(envelope.rcpt_tos))}\r\n"
        ).encode()
        with self._lock:
            key = mailbox.Maildir(self.maildir, create=True).add(prefix + content)
        log.info("caught message %s from %s to %s", key, envelope.mail_from, envelope.rcpt_tos)
        return "250 Message accepted for delivery"


class MailCatcher:
    """An SMTP server on `host`:`port` that stores everything it receives in `maildir`.

    The server runs in a background thread (aiosmtpd's ``Controller``). ``port=0`` picks a free
    port; read ``catcher.port`` after ``start()``. Usable as a context manager.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1025, maildir: str | Path = "mail"):
        self.host = host
        self.port = port
        self.maildir = Path(maildir)
        self._controller: Controller | None = None

    def start(self) -> MailCatcher:
        if self._controller is not None:
            return self
        mailbox.Maildir(self.maildir, create=True)
        if self.port == 0:
            self.port = free_port(self.host)
        self._controller = Controller(
            _MaildirHandler(self.maildir),
            hostname=self.host,
            port=self.port,
            enable_SMTPUTF8=True,
            data_size_limit=50 * 1024 * 1024,
        )
        self._controller.start()
        log.info(
            "mail catcher listening on %s:%s, storing in %s", self.host, self.port, self.maildir
        )
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _str_header(message: EmailMessage, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(value)


_PYTHON_KEY = re.compile(r"^(\d+)\.M(\d+)P(\d+)Q(\d+)\.")


def _arrivals(path: Path, colon: str) -> list[tuple[tuple[int, int, int, int], str]]:
    """(sort key, message key) for every message, without reading any message.

    Arrival order is the file's mtime (nanoseconds); ties are broken by the time and counter
    that Python's ``Maildir.add`` writes into the key (``<sec>.M<usec>P<pid>Q<n>.<host>``).
    """
    found = []
    for sub in ("new", "cur"):
        try:
            entries = list(os.scandir(path / sub))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            key = entry.name.split(colon)[0]
            try:
                mtime = entry.stat().st_mtime_ns
            except FileNotFoundError:
                continue  # removed while we were looking
            match = _PYTHON_KEY.match(key)
            sec, usec, count = (int(match[1]), int(match[2]), int(match[4])) if match else (0, 0, 0)
            found.append(((mtime, sec, usec, count), key))
    return found


def list_messages(maildir: str | Path, limit: int = 50) -> list[dict[str, Any]]:
    """The newest `limit` messages as simple dicts: key, subject, from, to, date, message_id.

    "Newest" is the order of arrival, not the Date header a sender chose. ``to`` is the envelope
    recipients when known, else the To header. Only the returned messages are read from disk.
    """
    path = Path(maildir)
    if not path.is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    arrivals = sorted(_arrivals(path, box.colon), reverse=True)
    summaries: list[dict[str, Any]] = []
    for _, key in arrivals[: max(limit, 0)]:
        try:
            with box.get_file(key) as fh:
                message = _parse(fh.read())
        except (KeyError, FileNotFoundError):
            continue
        summaries.append(
            {
                "key": key,
                "subject": _str_header(message, "Subject"),
                "from": _str_header(message, "From"),
                "to": _str_header(message, ENVELOPE_TO) or _str_header(message, "To"),
                "date": _str_header(message, "Date"),
                "message_id": _str_header(message, "Message-ID"),
            }
        )
    return summaries


def get_message(maildir: str | Path, key: str) -> EmailMessage | None:
    """The stored message `key`, parsed with the modern email policy, or None if it is unknown."""
    if not key or "/" in key or key.startswith("."):
        return None
    path = Path(maildir)
    if not path.is_dir():
        return None
    try:
        with mailbox.Maildir(path, create=False).get_file(key) as fh:
            return _parse(fh.read())
    except (KeyError, FileNotFoundError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", default="instance/mail")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command

    stopping: list[int] = []

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)  # only a flag: signal handlers must not take locks

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    with MailCatcher(args.host, args.port, args.maildir) as catcher:
        print(
            f"mail catcher on {catcher.host}:{catcher.port}, messages in {catcher.maildir}",
            flush=True,
        )
        while not stopping:
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
