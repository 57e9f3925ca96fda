"""The built-in SMTP catcher stores what it receives and reads it back, newest first."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from campaigns.devstack.mailcatcher.server import MailCatcher, free_port, get_message, list_messages


def _message(subject: str, to: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Campaigns <campaigns@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(body)
    return message


def test_catches_messages_and_lists_them_newest_first(tmp_path):
    maildir = tmp_path / "mail"
    first = _message("Please confirm your signature", "ana@example.net", "First")
    second = _message("Bitte bestätigen – Ünïcödé ✓", "jörg@example.net", "Zweite Nachricht: ü")

    port = free_port()
    with MailCatcher("127.0.0.1", port, maildir), smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(first, from_addr="bounces@example.org", to_addrs=["ana@example.net"])
        smtp.send_message(
            second,
            from_addr="bounces@example.org",
            to_addrs=["jörg@example.net", "cc@example.net"],
        )

    listed = list_messages(maildir)
    assert [m["subject"] for m in listed] == [second["Subject"], first["Subject"]]
    newest = listed[0]
    assert newest["subject"] == "Bitte bestätigen – Ünïcödé ✓"
    assert newest["from"] == "Campaigns <campaigns@example.org>"
    assert newest["to"] == "jörg@example.net, cc@example.net"
    assert newest["message_id"] == second["Message-ID"]
    assert newest["date"] == second["Date"]
    assert listed[1]["to"] == "ana@example.net"
    assert listed[1]["message_id"] == first["Message-ID"]

    parsed = get_message(maildir, newest["key"])
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "Bitte bestätigen – Ünïcödé ✓"
    assert parsed["X-Envelope-From"] == "bounces@example.org"
    assert parsed["X-Envelope-To"] == "jörg@example.net, cc@example.net"
    assert parsed.get_content().strip() == "Zweite Nachricht: ü"

    assert [m["key"] for m in list_messages(maildir, limit=1)] == [newest["key"]]


def test_unknown_or_missing_mail_is_empty(tmp_path):
    assert list_messages(tmp_path / "nowhere") == []
    assert get_message(tmp_path / "nowhere", "x") is None
    with MailCatcher("127.0.0.1", 0, tmp_path / "mail"):
        pass
    assert list_messages(tmp_path / "mail") == []
    assert get_message(tmp_path / "mail", "no-such-key") is None
    assert get_message(tmp_path / "mail", "../secret") is None
