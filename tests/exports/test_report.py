"""The delivery report: the right totals, names only of those who agreed and only when asked."""

from __future__ import annotations

import re

from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.petitions.models import SignatureStatus


def report(client, campaign, query: str = ""):
    response = client.get(f"/staff/campaigns/{campaign.id}/report{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def country_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', html))


def viewed_entries() -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "supporters.viewed")
    ).all()


def test_totals_by_country(campaign, add_signature, make_staff, staff_login):
    for country in ("DE", "DE", "FR"):
        add_signature(country=country)
    add_signature(country="FR", status=SignatureStatus.PENDING)
    add_signature(country="IT", status=SignatureStatus.REJECTED)
    html = report(staff_login(make_staff("campaigner")), campaign)

    assert "Naloxone in every pocket" in html
    assert "Public Health committee (SANT)" in html  # the target
    assert "3 confirmed signatures" in html
    assert "from 2 countries" in html
    assert country_rows(html) == {"Germany": "2", "France": "1", "Total": "3"}
    assert "66.7%" in html
    assert 'href="/static/print.css" media="print"' in html
    assert 'style="' not in html


def test_names_only_of_those_who_agreed_and_only_when_asked(
    campaign, add_signature, make_staff, staff_login
):
    add_signature(name="Public Paula", country="FR", show_name=True)
    add_signature(name="Private Pete", country="FR", show_name=False)
    add_signature(name="Pending Penny", show_name=True, status=SignatureStatus.PENDING)
    client = staff_login(make_staff("campaigner"))

    plain = report(client, campaign)
    assert "Public Paula" not in plain
    assert "Private Pete" not in plain
    assert viewed_entries() == []

    with_names = report(client, campaign, "?names=1")
    assert "Public Paula" in with_names
    assert "Private Pete" not in with_names
    assert "Pending Penny" not in with_names
    [entry] = viewed_entries()
    assert entry.campaign_id == campaign.id
    assert entry.detail == {"page": "delivery_report", "names": 1, "network_id": None}


def test_a_coordinator_gets_no_report_with_names(
    campaign, add_signature, networks, make_staff, staff_login
):
    asud = networks["asud"]
    add_signature(name="Via ASUD", country="FR", network=asud, show_name=True)
    client = staff_login(make_staff("coordinator", network=asud))
    response = client.get(f"/staff/campaigns/{campaign.id}/report?names=1")
    assert response.status_code == 403
    assert "Via ASUD" not in response.get_data(as_text=True)


def test_the_report_text_in_another_ready_language(campaign, make_staff, staff_login):
    client = staff_login(make_staff("campaigner"))
    french = campaign.translation_for("fr")
    html = report(client, campaign, "?text=fr")
    assert french.title in html
    assert report(client, campaign, "?text=xx")  # unknown: the default text, no error
