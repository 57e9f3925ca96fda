"""SMTP for bulk mail and letters: one connection reused for a batch, and a send whose point of
no return is our own database commit.

A mail server takes responsibility for a message when it receives the final "." of DATA. The
caller's `hand_over` decides, once the server holds all but that dot, whether the message goes;
if it does, it commits "sent" and writes the dot together (core.sent_marks). If the worker dies
before the commit, the server has only a partial message, which it discards, and the delivery is
sent again later; if it dies after, the delivery counts as sent and is never repeated. Each
recipient therefore gets a mailing at most once, and a message is lost only if the worker dies
in the few microseconds between writing the COMMIT and writing the dot.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable

from flask import current_app

_LEADING_DOT = re.compile(rb"(?m)^\.")


_PLAIN_ADDRESS = re.compile(r"[^\s<>]+@[^\s<>]+")


def _angle(address: str) -> str:
    """<address> for MAIL FROM and RCPT TO. Our addresses are plain (validated at signing), so
    this skips smtplib.quoteaddr's full RFC 5322 parse; anything else still goes through it, and
    no line break can reach the command either way."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address.replace("\r", " ").replace("\n", " "))


# Called with the function that writes the final dot; returns whether it was called.
HandOver = Callable[[Callable[[], None]], bool]


def unconditionally(write_dot: Callable[[], None]) -> bool:
    """The HandOver of a message that always goes (a test send): nothing to record first."""
    write_dot()
    return True


class RecipientRefused(smtplib.SMTPResponseException):
    """The server refused the recipient's address (RCPT TO), not the message or the sender."""


class BulkConnection:
    def __init__(self) -> None:
        self._connect()

    def _connect(self) -> None:
        config = current_app.config
        # Certificates and host names are checked: smtplib does neither without a context.
        if config["MAIL_USE_SSL"]:
            self.smtp = smtplib.SMTP_SSL(
                config["MAIL_SERVER"],
                config["MAIL_PORT"],
                timeout=30,
                context=ssl.create_default_context(),
            )
        else:
            self.smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
        if config["MAIL_USE_TLS"]:
            self.smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"] and config["MAIL_PASSWORD"]:
            self.smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        self.smtp.ehlo_or_helo_if_needed()
        # The final dot is a tiny write right after the message: without this, Nagle's algorithm
        # holds it until the server's delayed ACK, some 40 ms per message.
        self.smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pipelining = self.smtp.has_extn("pipelining")

    def send(self, sender: str, recipient: str, data: bytes, hand_over: HandOver) -> bool:
        """Send one message. `hand_over(write_dot)` runs once the server holds all but the final
        dot: it either calls `write_dot()` at its point of no return and returns True, or returns
        False without calling it. Then the message is abandoned: the connection is dropped (a DATA
        in progress cannot be taken back otherwise) and opened again. Returns whether the message
        was handed over. SMTP errors raise smtplib.SMTPResponseException."""
        smtp = self.smtp
        (mail_code, mail_reply), (rcpt_code, rcpt_reply), (data_code, data_reply) = self._envelope(
            sender, recipient
        )
        if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
            # A server that starts DATA without a valid envelope breaks RFC 2920: end it here,
            # sending nothing.
            self.smtp.close()
            self._connect()
            raise smtplib.SMTPResponseException(rcpt_code, rcpt_reply)
        if mail_code != 250:
            self._fail(mail_code, mail_reply)
        if rcpt_code not in (250, 251):
            self._fail(rcpt_code, rcpt_reply, RecipientRefused)
        if data_code != 354:
            self._fail(data_code, data_reply)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        smtp.send(_LEADING_DOT.sub(b"..", data))
        if not hand_over(lambda: smtp.send(b".\r\n")):
            self.smtp.close()  # no dot: the server throws the partial message away
            self._connect()
            return False
        code, reply = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPResponseException(code, reply)
        return True

    def _envelope(self, sender: str, recipient: str) -> list[tuple[int, bytes]]:
        """MAIL, RCPT and DATA with their replies. Where the server offers PIPELINING (RFC 2920)
        the three go out in one write: one round trip instead of three."""
        smtp = self.smtp
        if not self.pipelining:
            return [
                smtp.mail(sender),
                smtp.rcpt(recipient),
                smtp.docmd("DATA"),
            ]
        commands = f"MAIL FROM:{_angle(sender)}\r\nRCPT TO:{_angle(recipient)}\r\nDATA\r\n"
        smtp.send(commands.encode("ascii"))
        return [smtp.getreply() for _ in range(3)]

    def _fail(
        self,
        code: int,
        reply: bytes,
        error: type[smtplib.SMTPResponseException] = smtplib.SMTPResponseException,
    ) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.smtp.rset()
        raise error(code, reply)

    def close(self) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.smtp.quit()
