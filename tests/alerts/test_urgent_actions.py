"""Urgent actions: staff write one (English required, other languages optional), preview it,
are asked with the number of networks and channels, and send it once; each subscribed
network's alert is in its language where one was written."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from campaigns.alerts import emails
from campaigns.alerts.models import Alert, Topic, UrgentAction
from campaigns.audit.models import AuditEntry
from campaigns.core.events import Event
from campaigns.extensions import db
from tests.alerts.conftest import network
from tests.support import csrf_token, run_outbox, text_part

URL = "/staff/alerts/urgent/new"
GOOD = {
    "title_en": "Tell your MEP: vote for naloxone access",
    "text_en": "The SANT committee votes on Thursday.\nWrite to your MEP today.",
    "title_fr": "Écrivez à votre eurodéputé·e",
    "text_fr": "La commission SANT vote jeudi.",
    "title_de": "",
    "text_de": "",
    "link": "https://campaigns.example.org/en/write/naloxone",
    "deadline": "",
    "campaign_id": "",
}


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields a page carries to the next step."""
    return dict(re.findall(r'<input name="([^"]+)" type="hidden" value="([^"]*)"', html))


def start(client) -> dict[str, str]:
    page = client.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    once = re.search(r'name="once" value="([0-9a-f]+)"', html).group(1)
    return {"csrf_token": csrf_token(html), "once": once}


def test_bad_input_is_refused_with_reasons_and_kept(campaigner, subscribed):
    subscribed(Topic.URGENT_ACTION)
    fields = start(campaigner)
    bad = {
        **GOOD,
        **fields,
        "title_en": "",
        "text_en": "x" * 601,
        "text_fr": "",  # a French title without its text
        "link": "http://campaigns.example.org/write",
        "deadline": "2001-01-01",
        "step": "preview",
    }
    response = campaigner.post(URL, data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Please write the title in English." in page
    assert "Please use at most 600 characters." in page
    assert "Please write both the title and the text, or neither." in page
    assert "starts with https://" in page
    assert "The deadline has passed" in page
    assert "Écrivez à votre eurodéputé·e" in page  # kept as typed
    assert "http://campaigns.example.org/write" in page
    assert db.session.scalar(select(func.count()).select_from(UrgentAction)) == 0


def test_preview_question_and_send_once(app, campaigner, subscribed, mailbox):
    subscribed(Topic.URGENT_ACTION)
    fields = start(campaigner)
    preview = campaigner.post(URL, data={**GOOD, **fields, "step": "preview"})
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Écrivez à votre eurodéputé·e" in page
    assert "Send to 2 networks" in page
    assert "By email to 2 networks, 3 addresses in all" in page
    assert "By webhook to 1 network, 1 endpoint in all." in page

    carried = form_fields(page)
    back = campaigner.post(URL, data={**carried, "step": "edit"})
    assert back.status_code == 200
    assert "Tell your MEP: vote for naloxone access" in back.get_data(as_text=True)

    question = campaigner.post(URL, data={**carried, "step": "send"})
    assert question.status_code == 200
    asked = question.get_data(as_text=True)
    assert "2 member networks receive it." in asked
    assert "Yes, send it to 2 networks" in asked
    assert db.session.scalar(select(func.count()).select_from(UrgentAction)) == 0

    final = {**form_fields(asked), "step": "send"}
    assert final["confirmed"] == "yes"
    sent = campaigner.post(URL, data=final)
    assert sent.status_code == 303
    assert "/staff/alerts/?topic=urgent_action.published" in sent.location
    again = campaigner.post(URL, data=final)  # pressed twice
    assert again.status_code == 303
    assert "sent already" in campaigner.get(again.location).get_data(as_text=True)

    [action] = db.session.scalars(select(UrgentAction)).all()
    assert action.sent_at is not None
    assert sorted(t.locale for t in action.translations) == ["en", "fr"]
    assert action.translation_for("en").text == GOOD["text_en"]
    assert (
        db.session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "urgent_action.published")
        )
        == 1
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "alerts.urgent_action_sent")
    ).one()
    assert entry.detail["networks"] == 2

    run_outbox(app)
    alerts = {a.network.slug: a for a in db.session.scalars(select(Alert))}
    assert sorted(alerts) == ["asud", "jes"]
    french = alerts["asud"].payload["urgent_action"]
    assert (french["title"], french["locale"]) == ("Écrivez à votre eurodéputé·e", "fr")
    german = alerts["jes"].payload["urgent_action"]  # no German written: English
    assert (german["title"], german["locale"]) == (GOOD["title_en"], "en")
    assert german["link"] == GOOD["link"]
    assert german["deadline"] is None

    emails.send_pending()
    [message] = mailbox.to("alice@asud.example.org")
    assert "Écrivez à votre eurodéputé·e" in message["Subject"]
    assert GOOD["link"] in text_part(message)


def test_nothing_is_sent_while_no_network_is_subscribed(campaigner, subscribed):
    subscribed()  # contacts, but no subscription to urgent actions
    fields = start(campaigner)
    preview = campaigner.post(URL, data={**GOOD, **fields, "step": "send"})
    assert preview.status_code == 200
    assert "No member network would receive it" in preview.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(UrgentAction)) == 0


def test_a_deadline_and_a_campaign_reach_the_payload(app, campaigner, subscribed):
    from datetime import timedelta

    from campaigns.campaign.models import Campaign
    from campaigns.core.db import utcnow

    subscribed(Topic.URGENT_ACTION)
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.slug == "naloxone-in-every-pocket")
    )
    deadline = (utcnow() + timedelta(days=3)).date().isoformat()
    fields = start(campaigner)
    values = {**GOOD, **fields, "deadline": deadline, "campaign_id": str(campaign.id)}
    preview = campaigner.post(URL, data={**values, "step": "preview"}).get_data(as_text=True)
    assert "Campaign: Naloxone in every pocket" in preview
    asked = campaigner.post(URL, data={**form_fields(preview), "step": "send"})
    sent = campaigner.post(URL, data={**form_fields(asked.get_data(as_text=True)), "step": "send"})
    assert sent.status_code == 303
    run_outbox(app)
    alert = db.session.scalars(select(Alert).where(Alert.network_id == network("jes").id)).one()
    assert alert.payload["urgent_action"]["deadline"] == deadline
    assert alert.payload["campaign"]["url"].endswith("/de/c/naloxone-in-every-pocket?source=jes")
