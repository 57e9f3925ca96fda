"""The alert log: every alert with its network, topic, what it was about and to whom (each
address with its email's status, each endpoint with its delivery's), filtered by network and
topic; an alert's page with its payload. For staff who send alerts only."""

from __future__ import annotations

from sqlalchemy import select, update

from campaigns.alerts import emails
from campaigns.alerts.models import Alert, Topic
from campaigns.campaign.models import Campaign
from campaigns.core.events import record_event
from campaigns.extensions import db
from campaigns.webhooks.models import WebhookEndpoint
from tests.alerts.conftest import network
from tests.support import run_outbox


def launch_alerts(app) -> None:
    campaign = db.session.scalar(select(Campaign).order_by(Campaign.id))
    record_event("campaign.launched", campaign_id=campaign.id, staff_user_id=None)
    db.session.commit()
    run_outbox(app)


def test_the_log_shows_each_alert_and_to_whom(app, campaigner, subscribed, mailbox):
    subscribed(Topic.CAMPAIGN_LAUNCHED)
    # A receiver that takes a token in its query string: staff pages never show it.
    db.session.execute(
        update(WebhookEndpoint).values(url="https://hooks.jes.example.org/alerts?token=s3cret")
    )
    db.session.commit()
    launch_alerts(app)
    mailbox.rcpt_replies = {"bruno@asud.example.org": "550 5.1.1 No such user"}
    emails.send_pending()

    page = campaigner.get("/staff/alerts/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ASUD – Auto-Support des Usagers de Drogues" in html
    assert "Campaign launched" in html
    for alert in db.session.scalars(select(Alert)):  # what each network read, in its language
        assert alert.payload["campaign"]["title"] in html
    assert "Email to alice@asud.example.org: Sent" in html
    assert 'Email to bruno@asud.example.org: <span class="warning-text">Refused' in html
    assert "Email to jana@jes.example.org: Sent" in html
    assert "Webhook to https://hooks.jes.example.org/alerts?…: Waiting" in html
    assert "s3cret" not in html

    only_jes = campaigner.get(f"/staff/alerts/?network={network('jes').id}")
    assert "alice@asud.example.org" not in only_jes.get_data(as_text=True)
    assert "jana@jes.example.org" in only_jes.get_data(as_text=True)
    other_topic = campaigner.get("/staff/alerts/?topic=mailing.sent").get_data(as_text=True)
    assert "No alert matches these filters." in other_topic
    assert campaigner.get("/staff/alerts/?topic=nonsense&network=x").status_code == 422

    jes = db.session.scalars(select(Alert).where(Alert.network_id == network("jes").id)).one()
    detail = campaigner.get(f"/staff/alerts/{jes.id}")
    assert detail.status_code == 200
    text = detail.get_data(as_text=True)
    assert "&#34;network&#34;: &#34;jes&#34;" in text or '"network": "jes"' in text
    assert jes.message_id in text
    assert "https://hooks.jes.example.org/alerts?…" in text
    assert "s3cret" not in text
    assert campaigner.get("/staff/alerts/999999").status_code == 404


def test_the_log_pages_through_older_alerts(app, campaigner, subscribed, monkeypatch):
    from campaigns.alerts import log

    monkeypatch.setattr(log, "PAGE_SIZE", 1)
    subscribed(Topic.CAMPAIGN_LAUNCHED)
    launch_alerts(app)
    first = campaigner.get("/staff/alerts/").get_data(as_text=True)
    assert "jana@jes.example.org" in first
    assert "alice@asud.example.org" not in first
    older = campaigner.get(
        f"/staff/alerts/?before={db.session.scalar(select(Alert.id).order_by(Alert.id.desc()))}"
    )
    assert "alice@asud.example.org" in older.get_data(as_text=True)
