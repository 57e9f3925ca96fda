"""Transactional mail is encoded by hand (campaigns.core.mime); what a mail program reads back."""

from __future__ import annotations

from email import message_from_bytes, policy

from campaigns.core.mail import Email


def mail_to(to: str, subject: str = "Bitte bestätigen: Naloxon überall") -> Email:
    return Email(
        sender="Réseau européen <campaigns@example.org>",
        to=to,
        subject=subject,
        text="Grüße\n.\nEnde",  # a lone dot on a line must survive SMTP
        html="<p>Grüße</p>",
        locale="de",
        message_id="<abc@example.org>",
    )


def test_a_mail_reads_back_with_its_headers_and_both_parts():
    data, smtputf8 = mail_to("ada@example.org").encoded()
    assert not smtputf8
    message = message_from_bytes(data, policy=policy.default)
    assert message["Subject"] == "Bitte bestätigen: Naloxon überall"
    assert message["From"].addresses[0].display_name == "Réseau européen"
    assert message["To"] == "ada@example.org"
    assert message["Message-ID"] == "<abc@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "de"
    assert message["Date"].datetime is not None
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Grüße\n.\nEnde"
    assert message.get_body(("html",)).get_content().strip() == "<p>Grüße</p>"
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_an_internationalised_domain_goes_out_in_idna():
    mail = mail_to("ada@bücher.example")
    data, smtputf8 = mail.encoded()
    assert not smtputf8
    assert mail.envelope_to == "ada@xn--bcher-kva.example"
    assert b"To: ada@xn--bcher-kva.example\r\n" in data


def test_a_non_ascii_mailbox_name_needs_smtputf8():
    data, smtputf8 = mail_to("jörg@example.org").encoded()
    assert smtputf8
    assert "To: jörg@example.org\r\n".encode() in data
