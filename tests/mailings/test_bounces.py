"""Bounces and complaints: notifications as real servers send them, matched through the VERP
address, recorded once, turning into suppressions; read from a real POP3 or IMAP mailbox or
posted to the webhook; and the next mailing leaves a bounced address out."""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select, update

from campaigns.core import mail
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.mailings import bounce_mailbox, bounce_parsing, bounces
from campaigns.mailings.bounces import Outcome
from campaigns.mailings.message import _verp_signature
from campaigns.mailings.models import (
    Bounce,
    BounceKind,
    Delivery,
    DeliveryStatus,
    Suppression,
    SuppressionReason,
)
from campaigns.mailings.suppression import suppression_of
from tests.mailings.conftest import make_mailing
from tests.mailings.mailbox_servers import ImapServer, Pop3Server
from tests.mailings.test_sending import NALOXONE, send_all
from workers.bounces import read_bounce_mailbox

# --- Notifications as servers send them ------------------------------------------------------


def postfix_hard_bounce(verp: str, recipient: str, message_id: str = "<hard.1@mx.example.net>"):
    """Postfix's "Undelivered Mail Returned to Sender": 550 5.1.1, user unknown."""
    return f"""\
Return-Path: <>
Delivered-To: {verp}
Received: by mx.campaigns.example.org (Postfix) id 9C1B81C0E3; Tue, 14 May 2024 10:02:12 +0200
Date: Tue, 14 May 2024 10:02:11 +0200 (CEST)
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="3F2A81C0E2.1715673731/mail.example.net"
Content-Transfer-Encoding: 7bit
Message-Id: {message_id}

This is a MIME-encapsulated message.

--3F2A81C0E2.1715673731/mail.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{recipient}>: host mx.example.org[192.0.2.25] said: 550 5.1.1
    <{recipient}>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--3F2A81C0E2.1715673731/mail.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: 3F2A81C0E2
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Tue, 14 May 2024 10:02:10 +0200 (CEST)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--3F2A81C0E2.1715673731/mail.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Received: from campaigns.example.org (campaigns.example.org [198.51.100.7])
\tby mail.example.net (Postfix) with ESMTPS id 3F2A81C0E2
\tfor <{recipient}>; Tue, 14 May 2024 10:02:10 +0200 (CEST)
From: EuroNPUD campaigns <campaigns@campaigns.example.org>
To: {recipient}
Subject: News for Ada
Message-ID: <0b6f0c1d.m1@campaigns.example.org>

--3F2A81C0E2.1715673731/mail.example.net--
""".encode()


def postfix_mailbox_full(verp: str, recipient: str, message_id: str = "<soft.1@mx.example.net>"):
    """Postfix's "Delayed Mail (still being retried)": 452 4.2.2, mailbox full."""
    return f"""\
Return-Path: <>
X-Original-To: {verp}
Date: Wed, 15 May 2024 06:40:02 +0200 (CEST)
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="7D3E21C0F1.1715748002/mail.example.net"
Message-Id: {message_id}

--7D3E21C0F1.1715748002/mail.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

--7D3E21C0F1.1715748002/mail.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: 7D3E21C0F1
Arrival-Date: Wed, 15 May 2024 02:38:51 +0200 (CEST)

Final-Recipient: rfc822; {recipient}
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 <{recipient}>: Mailbox full
Will-Retry-Until: Mon, 20 May 2024 02:38:51 +0200 (CEST)

--7D3E21C0F1.1715748002/mail.example.net--
""".encode()


def postfix_gave_up(verp: str, recipient: str, message_id: str = "<final.1@mx.example.net>"):
    """The final failure after days of "mailbox full": Action failed, status still 4.2.2."""
    return (
        postfix_mailbox_full(verp, recipient, message_id)
        .replace(b"Action: delayed", b"Action: failed")
        .replace(b"Subject: Delayed Mail (still being retried)", b"Subject: Undelivered Mail")
    )


def arf_abuse_report(verp: str, recipient: str, message_id: str = "<arf.1@fbl.example.com>"):
    """A feedback loop's abuse report (RFC 5965). It goes to our feedback address, not to the
    VERP one: only the returned message's Return-Path names the delivery."""
    return f"""\
From: Mail Feedback <feedback@fbl.example.com>
To: fbl@campaigns.example.org
Subject: FW: News for Ada
Date: Thu, 16 May 2024 09:12:44 +0000
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="----=_arf_part_7731"

------=_arf_part_7731
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP 198.51.100.7 on
Thu, 16 May 2024 09:10:01 +0000. A user marked it as spam.

------=_arf_part_7731
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: <{recipient}>
Arrival-Date: Thu, 16 May 2024 09:10:01 +0000
Reported-Domain: campaigns.example.org
Source-IP: 198.51.100.7

------=_arf_part_7731
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <{verp}>
Received: from campaigns.example.org (198.51.100.7) by mx.fbl.example.com
From: EuroNPUD campaigns <campaigns@campaigns.example.org>
To: {recipient}
Subject: News for Ada
Message-ID: <77aa01c2.m1@campaigns.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello Ada,

------=_arf_part_7731--
""".encode()


def out_of_office(verp: str, recipient: str):
    """An auto-reply that went to the envelope sender: not a bounce."""
    return f"""\
From: Ada Example <{recipient}>
To: {verp}
Subject: Out of office: News for Ada
Auto-Submitted: auto-replied
Message-ID: <ooo.1@example.org>
Content-Type: text/plain; charset=utf-8

I am away until 3 June and will read your message when I am back.
""".encode()


def forged(verp: str) -> str:
    """The same delivery id with a signature that is not ours."""
    local, _, domain = verp.partition("@")
    return f"{local.rpartition('-')[0]}-0123456789@{domain}"


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture
def fast(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 1000)
    return app


@pytest.fixture
def send_mailing(fast, demo, mailbox):
    """Send a new mailing into the SMTP sink; returns each recipient's VERP envelope sender."""

    def send() -> dict[str, str]:
        before = len(mailbox.envelopes)
        send_all(make_mailing())
        return {rcpts[0]: sender for sender, rcpts in mailbox.envelopes[before:]}

    return send


@pytest.fixture
def ada(supporter, send_mailing):
    """ada@example.org received a mailing: her VERP address."""
    supporter(NALOXONE, "ada@example.org")
    return send_mailing()["ada@example.org"]


ADA = "ada@example.org"


def process_one(raw: bytes, source: str, envelope_recipient: str | None = None) -> Outcome:
    """What the mailbox reader does with one message: process it, then commit."""
    outcome = bounces.process(raw, source, envelope_recipient)
    db.session.commit()
    return outcome


def suppressed(email: str) -> Suppression | None:
    db.session.rollback()  # see what the webhook's and the task's sessions committed
    return suppression_of(email)


def delivery_of(email: str) -> Delivery:
    db.session.rollback()
    return db.session.scalars(select(Delivery).where(Delivery.email == email)).first()


def bounce_count() -> int:
    return len(db.session.scalars(select(Bounce.id)).all())


# --- Parsing and recording -------------------------------------------------------------------


def test_a_hard_bounce_suppresses_at_once_and_marks_the_delivery(ada):
    assert process_one(postfix_hard_bounce(ada, ADA), "mailbox") == Outcome.RECORDED

    suppression = suppressed(ADA)
    assert suppression.reason == SuppressionReason.BOUNCED
    assert "5.1.1" in suppression.detail
    delivery = delivery_of(ADA)
    assert delivery.status == DeliveryStatus.BOUNCED
    assert suppression.mailing_id == delivery.mailing_id
    (bounce,) = db.session.scalars(select(Bounce)).all()
    assert (bounce.kind, bounce.status_code, bounce.source) == (BounceKind.HARD, "5.1.1", "mailbox")
    assert bounce.delivery_id == delivery.id
    assert "User unknown in virtual mailbox table" in bounce.diagnostic  # unfolded
    assert bounce.notification_id == "<hard.1@mx.example.net>"


def test_the_same_notification_is_recorded_once(ada):
    raw = postfix_hard_bounce(ada, ADA)
    assert process_one(raw, "mailbox") == Outcome.RECORDED
    assert process_one(raw, "mailbox") == Outcome.DUPLICATE
    assert bounce_count() == 1


def test_a_notification_without_message_id_is_recorded_once_too(ada):
    raw = postfix_mailbox_full(ada, ADA).replace(b"Message-Id: <soft.1@mx.example.net>\n", b"")
    assert process_one(raw, "mailbox") == Outcome.RECORDED
    assert process_one(raw, "mailbox") == Outcome.DUPLICATE
    assert bounce_count() == 1


def test_an_arf_complaint_suppresses_at_once(ada):
    notification = bounce_parsing.parse_notification(arf_abuse_report(ada, ADA))
    assert notification.kind == BounceKind.COMPLAINT
    assert not notification.final

    assert process_one(arf_abuse_report(ada, ADA), "mailbox") == Outcome.RECORDED
    assert suppressed(ADA).reason == SuppressionReason.COMPLAINED
    assert delivery_of(ADA).status == DeliveryStatus.SENT  # it was delivered, and read


def test_a_not_spam_report_is_no_complaint(ada):
    raw = arf_abuse_report(ada, ADA).replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    assert process_one(raw, "mailbox") == Outcome.IGNORED
    assert suppressed(ADA) is None


def test_soft_failures_suppress_after_the_limit_within_the_window(app, supporter, send_mailing):
    supporter(NALOXONE, ADA)
    verps = [send_mailing()[ADA] for _ in range(3)]

    notification = bounce_parsing.parse_notification(postfix_gave_up(verps[0], ADA))
    assert (notification.kind, notification.status, notification.final) == (
        BounceKind.SOFT,
        "4.2.2",
        True,
    )
    process_one(postfix_mailbox_full(verps[0], ADA, "<d1@mx>"), "mailbox")
    # The delay notice and the final failure of the same message count once.
    process_one(postfix_gave_up(verps[0], ADA, "<s1@mx>"), "mailbox")
    process_one(postfix_gave_up(verps[1], ADA, "<s2@mx>"), "mailbox")
    assert suppressed(ADA) is None
    assert bounce_count() == 3

    # The first ones are older than the window now: the third one is not yet too many.
    too_old = utcnow() - timedelta(days=app.config["MAILING_SOFT_BOUNCE_DAYS"] + 1)
    db.session.execute(update(Bounce).values(received_at=too_old))
    db.session.commit()
    process_one(postfix_gave_up(verps[2], ADA, "<s3@mx>"), "mailbox")
    assert suppressed(ADA) is None

    db.session.execute(update(Bounce).values(received_at=utcnow()))
    db.session.commit()
    process_one(postfix_gave_up(verps[2], ADA, "<s3-again@mx>"), "mailbox")
    suppression = suppressed(ADA)
    assert suppression.reason == SuppressionReason.BOUNCED
    assert "3 soft bounces" in suppression.detail


def test_delay_notices_are_recorded_but_never_suppress(app, supporter, send_mailing):
    supporter(NALOXONE, ADA)
    limit = app.config["MAILING_SOFT_BOUNCE_LIMIT"]
    verps = [send_mailing()[ADA] for _ in range(limit + 1)]
    for number, verp in enumerate(verps):
        raw = postfix_mailbox_full(verp, ADA, f"<delay.{number}@mx>")
        assert process_one(raw, "mailbox") == Outcome.RECORDED

    assert suppressed(ADA) is None
    kinds = db.session.scalars(select(Bounce.kind)).all()
    assert kinds == [BounceKind.SOFT] * (limit + 1)  # there for staff to see
    assert {d.status for d in db.session.scalars(select(Delivery))} == {DeliveryStatus.SENT}

    # Final failures do count, and only they: the delays before them add nothing.
    for number, verp in enumerate(verps[: limit - 1]):
        process_one(postfix_gave_up(verp, ADA, f"<final.{number}@mx>"), "mailbox")
    assert suppressed(ADA) is None
    process_one(postfix_gave_up(verps[limit - 1], ADA, "<final.last@mx>"), "mailbox")
    assert suppressed(ADA).reason == SuppressionReason.BOUNCED


def test_a_final_failure_with_a_4xx_status_is_soft_but_ends_the_delivery(ada):
    assert process_one(postfix_gave_up(ada, ADA), "mailbox") == Outcome.RECORDED
    assert db.session.scalars(select(Bounce.kind)).one() == BounceKind.SOFT
    assert suppressed(ADA) is None
    assert delivery_of(ADA).status == DeliveryStatus.BOUNCED


def test_a_forged_verp_signature_suppresses_nobody(ada, caplog):
    raw = postfix_hard_bounce(forged(ada), ADA)
    assert process_one(raw, "mailbox") == Outcome.IGNORED
    assert suppressed(ADA) is None
    assert bounce_count() == 0
    assert delivery_of(ADA).status == DeliveryStatus.SENT
    assert "names none of our deliveries" in caplog.text


def test_no_address_is_stored_in_diagnostics_or_logged(ada, caplog):
    caplog.set_level(logging.DEBUG)
    # Unmatched: the addresses it names are anyone's, the supporter's among them.
    assert process_one(postfix_hard_bounce(forged(ada), ADA), "mailbox", ADA) == (Outcome.IGNORED)
    assert process_one(postfix_hard_bounce(ada, ADA), "mailbox") == Outcome.RECORDED

    bounce = db.session.scalars(select(Bounce)).one()
    assert "<<address>>: Recipient address rejected" in bounce.diagnostic
    stored = [bounce.diagnostic, suppressed(ADA).detail, delivery_of(ADA).error]
    assert all("5.1.1" in text and "@" not in text for text in stored)
    assert "@" not in caplog.text
    assert f"delivery {delivery_of(ADA).id}" in caplog.text


def test_a_soft_failure_is_stored_without_the_address(ada):
    process_one(postfix_gave_up(ada, ADA), "mailbox")
    assert "@" not in db.session.scalars(select(Bounce.diagnostic)).one()
    assert "@" not in delivery_of(ADA).error


def test_a_refusal_is_logged_without_the_address(app_ctx, monkeypatch, caplog):
    def refuse(_message: object) -> None:
        raise smtplib.SMTPRecipientsRefused({ADA: (550, b"5.1.1 <ada@example.org>: unknown")})

    monkeypatch.setattr(mail._smtp, "send", refuse)
    outgoing = mail.OutgoingMail(
        key="test:refused",
        template="test",
        build=lambda: mail.Email(
            sender="a@example.org",
            to=ADA,
            subject="Hello",
            text="Hello",
            html="<p>Hello</p>",
            locale="en",
            message_id="<refused@example.org>",
        ),
        settle=lambda: None,
    )
    assert mail.send_batch([outgoing]) == 1  # settled: refused for good, not to be tried again
    assert db.session.scalar(select(mail.SentMail.status)) == "failed"
    assert "refused for good" in caplog.text
    assert "550" in caplog.text
    assert ADA not in caplog.text


def test_a_bounce_naming_no_verp_address_is_ignored(ada):
    raw = postfix_hard_bounce("postmaster@campaigns.example.org", ADA)
    assert process_one(raw, "mailbox") == Outcome.IGNORED
    assert bounce_count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(lambda verp: out_of_office(verp, ADA), id="auto-reply"),
        pytest.param(
            lambda verp: postfix_hard_bounce(verp, ADA).replace(
                b"Action: failed", b"Action: delivered"
            ),
            id="success-notice",
        ),
        pytest.param(lambda verp: b"\xff\xfe\x00 not mail at all\n\n\n--", id="garbage"),
        pytest.param(
            lambda verp: b"Content-Type: multipart/report; report-type=delivery-status\n\n",
            id="empty-report",
        ),
    ],
)
def test_anything_else_is_ignored(ada, raw):
    assert process_one(raw(ada), "mailbox") == Outcome.IGNORED
    assert bounce_count() == 0
    assert suppressed(ADA) is None


# --- End to end: a bounce keeps the address out of the next mailing ---------------------------


def test_a_bounced_address_is_left_out_of_the_next_mailing(supporter, send_mailing, mailbox):
    supporter(NALOXONE, "gone@example.org")
    supporter(NALOXONE, "here@example.org")
    first = send_mailing()
    assert sorted(first) == ["gone@example.org", "here@example.org"]

    # The receiving server accepted the message, then bounced it to its envelope sender.
    process_one(postfix_hard_bounce(first["gone@example.org"], "gone@example.org"), "mailbox")

    mailbox.clear()
    second = send_mailing()
    assert sorted(second) == ["here@example.org"]
    assert [m["To"] for m in mailbox.messages] == ["here@example.org"]


# --- The bounce mailbox ----------------------------------------------------------------------


@pytest.fixture(params=[Pop3Server, ImapServer], ids=["pop3", "imap"])
def bounce_server(request):
    server = request.param().start()
    yield server
    server.stop()


def test_the_mailbox_is_read_and_what_was_processed_deleted(ada, bounce_server):
    long_line = b"Subject: spam\n\n" + b"x" * 5000 + b"\n.leading dot\n"
    for raw in (
        postfix_hard_bounce(ada, ADA),
        out_of_office(ada, ADA),
        long_line,
        b"\xff\xfe garbage",
        postfix_hard_bounce(ada, ADA),  # the same notification delivered twice
    ):
        bounce_server.mailbox.add(raw)

    result = bounce_mailbox.read_mailbox(bounce_server.url())

    assert (result.recorded, result.duplicate, result.ignored, result.kept) == (1, 1, 3, 0)
    assert bounce_server.mailbox.contents() == []
    assert suppressed(ADA).reason == SuppressionReason.BOUNCED
    assert delivery_of(ADA).status == DeliveryStatus.BOUNCED


def unsubscribe_request_for(message) -> bytes:
    """What a mail client sends when its "unsubscribe" button uses the header's mailto:."""
    mailto = re.search(r"<mailto:([^>]+)>", str(message["List-Unsubscribe"])).group(1)
    address, _, query = mailto.partition("?")
    subject = parse_qs(query)["subject"][0]
    return (
        f"From: Ada <{message['To']}>\r\nTo: {address}\r\nSubject: {subject}\r\n"
        "Message-ID: <unsub.1@mail.example.net>\r\n\r\n\r\n"
    ).encode()


def test_a_mail_to_the_unsubscribe_address_unsubscribes(ada, mailbox, bounce_server):
    (message,) = mailbox.to(ADA)
    bounce_server.mailbox.add(unsubscribe_request_for(message))
    forged = unsubscribe_request_for(message).replace(b"unsubscribe ", b"unsubscribe x")
    bounce_server.mailbox.add(forged)

    result = bounce_mailbox.read_mailbox(bounce_server.url())

    assert (result.unsubscribed, result.ignored, result.kept) == (1, 1, 0)
    assert bounce_server.mailbox.contents() == []
    assert suppressed(ADA).reason == SuppressionReason.UNSUBSCRIBED


def test_reading_the_mailbox_again_records_nothing_twice(ada, bounce_server, monkeypatch):
    raw = postfix_hard_bounce(ada, ADA)
    bounce_server.mailbox.add(raw)
    bounce_mailbox.read_mailbox(bounce_server.url())
    # A server that did not delete it (a connection broken before QUIT, say) hands it out again.
    bounce_server.mailbox.add(raw)
    result = bounce_mailbox.read_mailbox(bounce_server.url())
    assert (result.recorded, result.duplicate) == (0, 1)
    assert bounce_count() == 1


def test_a_message_that_could_not_be_recorded_stays_for_the_next_run(
    ada, bounce_server, monkeypatch
):
    bounce_server.mailbox.add(postfix_hard_bounce(ada, ADA))
    bounce_server.mailbox.add(out_of_office(ada, ADA))

    def database_down(*_args: object) -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(bounces, "record", database_down)
    result = bounce_mailbox.read_mailbox(bounce_server.url())
    assert (result.kept, result.ignored) == (1, 1)
    assert bounce_server.mailbox.contents() == [postfix_hard_bounce(ada, ADA)]

    monkeypatch.undo()
    assert bounce_mailbox.read_mailbox(bounce_server.url()).recorded == 1
    assert bounce_server.mailbox.contents() == []


def test_the_task_reads_the_configured_mailbox(app, ada, bounce_server, monkeypatch):
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", bounce_server.url())
    bounce_server.mailbox.add(arf_abuse_report(ada, ADA))
    read_bounce_mailbox()
    assert bounce_server.mailbox.contents() == []
    assert suppressed(ADA).reason == SuppressionReason.COMPLAINED


def test_the_task_survives_a_refused_login_and_an_unreachable_server(
    app, app_ctx, bounce_server, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_TIMEOUT", 2)
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", bounce_server.url(password="wrong"))
    bounce_server.mailbox.add(b"Subject: kept\n\nhello\n")
    read_bounce_mailbox()
    assert bounce_server.mailbox.contents() != []

    bounce_server.stop()  # nothing listens there now
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", bounce_server.url())
    read_bounce_mailbox()
    assert caplog.text.count("bounce mailbox not read") == 2


def test_the_task_does_nothing_without_a_mailbox(app, app_ctx, monkeypatch, caplog):
    """No mailbox configured: beat's runs neither try to read one nor fill the log."""
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", "")
    reads = []

    def read_mailbox(*args: object) -> bounce_mailbox.MailboxResult:
        reads.append(args)
        return bounce_mailbox.MailboxResult()

    monkeypatch.setattr(bounce_mailbox, "read_mailbox", read_mailbox)
    with caplog.at_level(logging.DEBUG):
        read_bounce_mailbox()
        read_bounce_mailbox()
    assert reads == []
    assert [r.getMessage() for r in caplog.records if "bounce" in r.name] == []


def test_an_imap_folder_that_does_not_exist_is_an_error(app_ctx):
    server = ImapServer().start()
    try:
        with pytest.raises(bounce_mailbox.MailboxError):
            bounce_mailbox.read_mailbox(server.url(folder="/Bounces"))
        assert bounce_mailbox.read_mailbox(server.url(folder="/INBOX")).recorded == 0
    finally:
        server.stop()


@pytest.mark.parametrize("url", ["smtp://u:p@host", "pop3:///nohost"])
def test_a_mailbox_url_we_cannot_use_is_an_error(app_ctx, url):
    with pytest.raises(bounce_mailbox.MailboxError):
        bounce_mailbox.read_mailbox(url)


# --- The webhook -----------------------------------------------------------------------------

TOKEN = "hook-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def hook(app, monkeypatch):
    monkeypatch.setitem(app.config, "BOUNCE_WEBHOOK_TOKEN", TOKEN)
    return app


def event(verp: str, **fields: object) -> dict:
    return {
        "recipient": verp,
        "kind": "hard",
        "status": "5.1.1",
        "diagnostic": "550 5.1.1 user unknown",
        "id": "evt-1",
        **fields,
    }


def test_the_webhook_is_off_without_a_token(app, client, ada, monkeypatch):
    monkeypatch.setitem(app.config, "BOUNCE_WEBHOOK_TOKEN", "")
    response = client.post("/hooks/bounces", json=event(ada), headers={"Authorization": "Bearer "})
    assert response.status_code == 404
    assert suppressed(ADA) is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer ünïcode"},
    ],
    ids=["missing", "wrong", "other-scheme", "longer", "non-ascii"],
)
def test_the_webhook_wants_the_token(hook, client, ada, headers):
    response = client.post("/hooks/bounces", json=event(ada), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert suppressed(ADA) is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('{"recipient": "x@example.org", "kind": "bounce", "id": "1"}', "application/json"),
        ('{"kind": "hard", "id": "1"}', "application/json"),
        ('{"recipient": "x@example.org", "kind": "hard"}', "application/json"),
        ('{"recipient": 5, "kind": "hard", "id": "1"}', "application/json"),
        (
            '{"recipient": "x@e.org", "kind": "hard", "id": "1", "status": "550"}',
            "application/json",
        ),
        (
            '{"recipient": "x@e.org", "kind": "soft", "id": "1", "final": "yes"}',
            "application/json",
        ),
        ("recipient=x@example.org", "application/x-www-form-urlencoded"),
        ("hello", "text/plain"),
    ],
)
def test_the_webhook_refuses_bad_input_with_a_json_error(hook, client, body, content_type):
    response = client.post(
        "/hooks/bounces", data=body, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_a_hard_bounce_event_suppresses_and_a_repeat_counts_once(hook, client, ada):
    response = client.post("/hooks/bounces", json=event(ada), headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {"result": "recorded"}
    assert suppressed(ADA).reason == SuppressionReason.BOUNCED
    assert delivery_of(ADA).status == DeliveryStatus.BOUNCED

    again = client.post("/hooks/bounces", json=event(ada), headers=AUTH)
    assert again.status_code == 200
    assert again.get_json() == {"result": "duplicate"}
    (bounce,) = db.session.scalars(select(Bounce)).all()
    assert (bounce.source, bounce.notification_id) == ("webhook", "event:evt-1")


def test_complaint_and_soft_events(hook, client, ada):
    soft = event(ada, kind="soft", status="4.2.2", id="evt-soft")
    assert client.post("/hooks/bounces", json=soft, headers=AUTH).get_json()["result"] == (
        "recorded"
    )
    assert suppressed(ADA) is None
    assert delivery_of(ADA).status == DeliveryStatus.SENT

    complaint = {"recipient": ada, "kind": "complaint", "id": "evt-complaint"}
    assert client.post("/hooks/bounces", json=complaint, headers=AUTH).status_code == 200
    assert suppressed(ADA).reason == SuppressionReason.COMPLAINED


def test_delay_events_posted_to_the_webhook_never_suppress(hook, client, app, ada, send_mailing):
    verps = [ada] + [send_mailing()[ADA] for _ in range(app.config["MAILING_SOFT_BOUNCE_LIMIT"])]
    for number, verp in enumerate(verps):
        soft = event(verp, kind="soft", status="4.2.2", id=f"evt-delay-{number}")
        assert client.post("/hooks/bounces", json=soft, headers=AUTH).status_code == 200
    assert bounce_count() == len(verps)
    assert suppressed(ADA) is None


def test_final_soft_events_posted_to_the_webhook_suppress_after_the_limit(
    hook, client, app, ada, send_mailing
):
    limit = app.config["MAILING_SOFT_BOUNCE_LIMIT"]
    verps = [ada] + [send_mailing()[ADA] for _ in range(limit - 1)]
    for number, verp in enumerate(verps):
        assert suppressed(ADA) is None
        gave_up = event(verp, kind="soft", status="4.2.2", id=f"evt-gave-up-{number}", final=True)
        assert client.post("/hooks/bounces", json=gave_up, headers=AUTH).status_code == 200
    assert suppressed(ADA).reason == SuppressionReason.BOUNCED


def test_an_event_is_stored_without_the_address_it_quotes(hook, client, ada):
    diagnostic = f"550 5.1.1 <{ADA}>: user unknown ({ADA.upper()})"
    response = client.post("/hooks/bounces", json=event(ada, diagnostic=diagnostic), headers=AUTH)
    assert response.get_json() == {"result": "recorded"}
    assert db.session.scalars(select(Bounce.diagnostic)).one() == (
        "550 5.1.1 <<address>>: user unknown (<address>)"
    )
    assert "@" not in suppressed(ADA).detail


def test_a_forged_event_is_ignored(hook, client, ada):
    response = client.post("/hooks/bounces", json=event(forged(ada)), headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {"result": "ignored"}
    assert suppressed(ADA) is None
    assert bounce_count() == 0


@pytest.mark.parametrize("content_type", ["message/rfc822", "message/global"])
def test_a_raw_notification_can_be_posted(hook, client, ada, content_type):
    response = client.post(
        "/hooks/bounces",
        data=arf_abuse_report(ada, ADA),
        headers={**AUTH, "Content-Type": content_type},
    )
    assert response.get_json() == {"result": "recorded"}
    assert suppressed(ADA).reason == SuppressionReason.COMPLAINED


def test_a_raw_notification_may_name_its_envelope_recipient(hook, client, ada):
    # Forwarded by an MTA that kept the envelope recipient out of the headers.
    raw = postfix_hard_bounce("bounces@campaigns.example.org", ADA).replace(
        b"X-Postfix-Sender: rfc822; bounces@campaigns.example.org\n", b""
    )
    response = client.post(
        "/hooks/bounces",
        query_string={"recipient": ada},
        data=raw,
        headers={**AUTH, "Content-Type": "message/rfc822"},
    )
    assert response.get_json() == {"result": "recorded"}
    assert suppressed(ADA) is not None


def _odd_verps(verp: str) -> list[str]:
    """The VERP address with a delivery id in other digits (signed as the real id would be),
    or too long for the database's integer."""
    local, _, domain = verp.partition("@")
    prefix, delivery = local.partition("-")[0].split("+")
    arabic = delivery.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    huge = str(2**70)
    return [
        f"{prefix}+{arabic}-{local.rpartition('-')[2]}@{domain}",
        f"{prefix}+²-{_verp_signature(2)}@{domain}",
        f"{prefix}+{huge}-{_verp_signature(int(huge))}@{domain}",
        f"{prefix}+2147483648-{_verp_signature(2147483648)}@{domain}",
    ]


def test_odd_digits_in_the_verp_address_are_ignored_not_an_error(hook, client, ada):
    for number, verp in enumerate(_odd_verps(ada)):
        response = client.post("/hooks/bounces", json=event(verp, id=f"odd-{number}"), headers=AUTH)
        assert (response.status_code, response.get_json()) == (200, {"result": "ignored"}), verp

        raw = postfix_hard_bounce(verp, ADA, f"<odd.{number}@mx>")
        for query in ({}, {"recipient": verp}):
            response = client.post(
                "/hooks/bounces",
                data=raw,
                query_string=query,
                headers={**AUTH, "Content-Type": "message/rfc822"},
            )
            assert (response.status_code, response.get_json()) == (200, {"result": "ignored"})
    assert bounce_count() == 0
    assert suppressed(ADA) is None


# Arabic-Indic digits, a superscript: digits, but not the ASCII ones a status code is made of.
@pytest.mark.parametrize("status", ["5.\u0661.\u0661", "5.1.\u0663", "5.1.\u00b2"])
def test_a_status_in_other_digits_is_refused(hook, client, ada, status):
    response = client.post("/hooks/bounces", json=event(ada, status=status), headers=AUTH)
    assert response.status_code == 400
    assert suppressed(ADA) is None


def test_the_webhook_never_answers_500(hook, client, ada, monkeypatch):
    def database_down(*_args: object) -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(bounces, "record", database_down)
    response = client.post("/hooks/bounces", json=event(ada), headers=AUTH)
    assert response.status_code == 503
    assert response.get_json()["error"]

    too_big = b"x" * (hook.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/hooks/bounces", data=too_big, headers={**AUTH, "Content-Type": "message/rfc822"}
    )
    assert response.status_code == 413
