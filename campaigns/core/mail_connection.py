"""The SMTP connection of transactional mail (`core.mail`): one per worker process or thread,
reused from one mail to the next."""

from __future__ import annotations

import contextlib
import smtplib
import threading
import time
from typing import TYPE_CHECKING

import flask_mail
from flask import current_app

from campaigns.core.mime import sender_address
from campaigns.extensions import mail

if TYPE_CHECKING:
    from campaigns.core.mail import Email


class SmtpConnections(threading.local):
    """One SMTP connection per worker process (or thread), reused from one mail to the next: a
    handshake per mail costs about as much as the mail. A connection left idle is closed before it
    is used again (servers drop idle clients), and any error closes it."""

    IDLE_SECONDS = 30.0

    def __init__(self) -> None:
        self.connections: dict[tuple, tuple[flask_mail.Connection, float]] = {}

    def send(self, message: Email) -> None:
        config = current_app.config
        target = (config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USERNAME"])
        connection, last_used = self.connections.pop(target, (None, 0.0))
        if connection is not None and time.monotonic() - last_used > self.IDLE_SECONDS:
            _close(connection)
            connection = None
        if connection is None:
            connection = mail.connect().__enter__()
        try:
            _transmit(connection, message)
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


def _transmit(connection: flask_mail.Connection, message: Email) -> None:
    # Flask-Mail opens the connection (TLS, login, MAIL_SUPPRESS_SEND); the bytes are ours.
    if connection.host is None:  # MAIL_SUPPRESS_SEND
        return
    data, smtputf8 = message.encoded()
    connection.host.sendmail(
        sender_address(message.sender),
        [message.envelope_to],
        data,
        mail_options=["SMTPUTF8"] if smtputf8 else [],
    )
