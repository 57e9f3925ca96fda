from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.networks.models import Network
from tests.support import csrf_token

SLUG = "housing-first-for-all"


def lead_network() -> Network:
    return db.session.scalar(select(Network).where(Network.slug == "asud"))


def campaign_by_slug(slug: str = SLUG) -> Campaign | None:
    db.session.expire_all()  # see what the requests committed
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def create(client, **fields):
    """Submit the new-campaign form as a browser would; `fields` replace the defaults."""
    page = client.get("/staff/campaigns/new")
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "kind": "petition",
        "slug": SLUG,
        "default_locale": "en",
        "lead_network_id": str(lead_network().id),
        "goal": "5000",
        "deadline": "",
        "title": "Housing first for all",
        "summary": "A home is where recovery starts.",
        "target": "The European Commission",
        "body_markdown": "We ask the Commission to **fund Housing First** across the EU.",
        "status": "draft",
    }
    data.update(fields)
    return client.post("/staff/campaigns/new", data=data)


def post(client, url: str, **fields):
    """POST to `url` with a CSRF token from the workspace's home page (every page has one)."""
    token = csrf_token(client.get("/staff/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **fields})


def save_translation(client, campaign: Campaign, locale: str, **fields):
    url = f"/staff/campaigns/{campaign.id}/translations/{locale}"
    page = client.get(url)
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "title": "Un logement d'abord, pour tous",
        "summary": "Un chez-soi, c'est là que tout commence.",
        "target": "La Commission européenne",
        "body_markdown": "Nous demandons à la Commission de **financer le logement d'abord**.",
        "status": "draft",
    }
    data.update(fields)
    return client.post(url, data=data)


@pytest.fixture
def campaigner(demo, make_staff, staff_login):
    """A signed-in campaigner's browser (demo networks and campaigns loaded)."""
    return staff_login(make_staff("campaigner", name="Rosa Campaigner"))


@pytest.fixture
def draft(campaigner) -> Campaign:
    """A draft made through the editor, its English text ready."""
    assert create(campaigner, status="ready").status_code == 303
    return campaign_by_slug()
