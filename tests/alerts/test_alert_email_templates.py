"""Each alert email, rendered from a fixed payload in each language: a subject, a plain-text
twin, an HTML part with a title, every address it shows a real link, and staff-written text
escaped in the HTML."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from campaigns.alerts.emails import build_email
from campaigns.alerts.models import Topic

BASE = "https://campaigns.example.org"
CAMPAIGN = {
    "slug": "naloxone",
    "title": "Naloxone <in> every pocket",
    "kind": "petition",
    "url": f"{BASE}/fr/c/naloxone?source=asud",
}
PAYLOADS = {
    Topic.CAMPAIGN_LAUNCHED: {"campaign": CAMPAIGN},
    Topic.MILESTONE_REACHED: {
        "campaign": CAMPAIGN,
        "threshold": 1000,
        "kind": "count",
        "count": 1012,
        "goal": 10000,
    },
    Topic.URGENT_ACTION: {
        "campaign": CAMPAIGN,
        "urgent_action": {
            "id": 1,
            "title": "Write <today>",
            "text": "The vote is on Thursday.\nWrite now.",
            "locale": "en",
            "link": "https://example.org/act",
            "deadline": "2026-03-12",
        },
    },
    Topic.MAILING_SENT: {
        "campaign": None,
        "mailing": {"id": 3, "subject": "News <3>", "recipients": 1200, "finished_at": None},
    },
    Topic.WEEKLY_DIGEST: {
        "campaign": None,
        "week": {"label": "2026-W10", "from": "2026-03-02", "to": "2026-03-08"},
        "campaigns": [{**CAMPAIGN, "signatures_last_week": 2, "signatures_total": 30}],
        "totals": {"signatures_last_week": 2, "signatures_total": 30},
    },
}


@pytest.mark.parametrize("locale", ["en", "fr", "de"])
@pytest.mark.parametrize("topic", list(Topic))
def test_each_alert_email_has_its_parts_and_links(app_ctx, topic, locale):
    payload = {"network": "asud", "topic": str(topic), "occasion": "x", "locale": locale}
    payload.update(PAYLOADS[topic])
    alert = SimpleNamespace(
        topic=topic,
        payload=payload,
        network=SimpleNamespace(id=2, name="ASUD & friends"),
    )
    with app_ctx.test_request_context():
        message = build_email(alert, "alice@asud.example.org")
    assert message.subject.strip()
    assert "\n" not in message.subject
    assert message.locale == locale
    assert "/staff/networks/2/alerts" in message.text
    title = re.search(r"<title>(.*?)</title>", message.html, re.S)
    assert title
    assert title.group(1).strip()
    shown = set(re.findall(r"(?<![\"'=])\bhttps?://[^\s<\"']+", message.html))
    linked = {link.replace("&amp;", "&") for link in re.findall(r'href="([^"]+)"', message.html)}
    assert shown <= linked, shown - linked
    assert "<in>" not in message.html
    assert "<today>" not in message.html
    assert "<3>" not in message.html
    assert "ASUD &amp; friends" in message.html
