"""Alert emails are sent once each, whatever happens to the worker sending them: a claim left by
a killed worker lapses and the next run sends the mail; a mail the server accepted before the
kill is only marked; a refusal is recorded; a mail server away keeps the email pending."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from sqlalchemy import select

from campaigns.alerts import emails
from campaigns.alerts.models import AlertEmail, Topic
from campaigns.campaign.models import Campaign
from campaigns.core.db import utcnow
from campaigns.core.events import record_event
from campaigns.core.mail import SentMail
from campaigns.extensions import db
from tests.support import run_outbox, text_part


@pytest.fixture
def launch_alerts(app, subscribed):
    """The alerts of a launch of the first demo campaign: 3 emails pending."""
    subscribed(Topic.CAMPAIGN_LAUNCHED)
    campaign = db.session.scalar(select(Campaign).order_by(Campaign.id))
    record_event("campaign.launched", campaign_id=campaign.id, staff_user_id=None)
    db.session.commit()
    run_outbox(app)
    return {e.email: e.id for e in db.session.scalars(select(AlertEmail))}


def status_of(alert_email_id: int) -> str:
    db.session.rollback()
    return db.session.get(AlertEmail, alert_email_id).status


def test_a_claim_left_by_a_killed_worker_lapses_and_the_mail_goes_once(app, launch_alerts, mailbox):
    alice = launch_alerts["alice@asud.example.org"]
    bruno = launch_alerts["bruno@asud.example.org"]
    # A worker was killed while sending to Alice (its claim is fresh), and another right after
    # the server accepted Bruno's mail, before it could mark the alert email sent.
    db.session.add(
        SentMail(key=emails.mail_key(alice), template="x", status="sending", claimed_at=utcnow())
    )
    db.session.add(
        SentMail(
            key=emails.mail_key(bruno),
            template="x",
            status="sent",
            claimed_at=utcnow(),
            sent_at=utcnow(),
        )
    )
    db.session.commit()

    outcome = emails.send_pending()
    assert (outcome.sent, outcome.left) == (2, 1)  # Jana's sent, Bruno's marked; Alice's waits
    assert [str(m["To"]) for m in mailbox.messages] == ["jana@jes.example.org"]
    assert status_of(bruno) == "sent"
    assert status_of(alice) == "pending"

    # The claim outlives MAIL_CLAIM_LEASE: beat's next run takes it over and sends.
    lease = timedelta(seconds=app.config["MAIL_CLAIM_LEASE"] + 1)
    db.session.get(SentMail, emails.mail_key(alice)).claimed_at = utcnow() - lease
    db.session.commit()
    assert emails.send_pending().sent == 1
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "alice@asud.example.org",
        "jana@jes.example.org",
    ]
    assert status_of(alice) == "sent"
    assert emails.send_pending().sent == 0
    assert len(mailbox.messages) == 2


def test_a_refused_address_is_recorded_and_the_others_go(launch_alerts, mailbox):
    mailbox.rcpt_replies = {"jana@jes.example.org": "550 5.1.1 No such user"}
    outcome = emails.send_pending()
    assert (outcome.sent, outcome.failed) == (2, 1)
    assert status_of(launch_alerts["jana@jes.example.org"]) == "failed"
    assert emails.send_pending().sent == 0


def test_a_mail_server_away_keeps_the_emails_pending_for_the_next_run(launch_alerts, mailbox):
    mailbox.reply = "421 4.3.2 Try again later"
    with pytest.raises(smtplib.SMTPException):
        emails.send_pending()
    assert {status_of(i) for i in launch_alerts.values()} == {"pending"}
    mailbox.reply = None
    assert emails.send_pending().sent == 3
    assert len(mailbox.messages) == 3


def test_each_email_says_why_it_came_and_where_to_change_it(launch_alerts, mailbox):
    emails.send_pending()
    [message] = mailbox.to("jana@jes.example.org")
    text = text_part(message)
    assert "/staff/networks/" in text  # where the coordinator changes the alerts
    # In German, JES's language (the lead translates the alert's own sentences).
    assert text.rstrip().endswith("Europäisches Netzwerk drogengebrauchender Menschen")
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<title>" in html
    assert 'lang="de"' in html
    assert "?source=jes" in html


def test_a_network_deactivated_before_its_turn_receives_nothing(launch_alerts, mailbox):
    from campaigns.networks.models import Network

    asud = db.session.scalar(select(Network).where(Network.slug == "asud"))
    asud.is_active = False
    db.session.commit()

    emails.send_pending()
    assert [str(m["To"]) for m in mailbox.messages] == ["jana@jes.example.org"]
    assert status_of(launch_alerts["alice@asud.example.org"]) == "cancelled"
    assert status_of(launch_alerts["bruno@asud.example.org"]) == "cancelled"
