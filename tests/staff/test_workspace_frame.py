"""The workspace keeps its place: the menu shows the section a page belongs to, pages about one
campaign lead back to it, a missing page keeps the menu and speaks to staff; the figures say
what they are (no "0%" for 2 of 10,000, no statistics before sending, no tracking, on purpose)."""

from __future__ import annotations

import re

from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.mailings import lifecycle
from tests.mailings.conftest import add_supporter, make_mailing
from tests.support import commit_change

NALOXONE = "naloxone-in-every-pocket"


def current_section(html: str) -> str:
    match = re.search(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', html)
    assert match, "no section is marked current"
    return match.group(1)


def test_pages_about_a_campaign_keep_the_menu_on_campaigns_and_lead_back(
    demo, make_staff, staff_login
):
    client = staff_login(make_staff("admin"))
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == NALOXONE))
    for page in ("dashboard", "export", "report"):
        html = client.get(f"/staff/campaigns/{campaign.id}/{page}").get_data(as_text=True)
        assert current_section(html) == "Campaigns", page
        assert f'href="/staff/campaigns/{campaign.id}/"' in html, page  # back to the campaign


def test_a_missing_staff_page_keeps_the_menu(demo, make_staff, staff_login):
    client = staff_login(make_staff("admin"))
    response = client.get("/staff/campaigns/999999/dashboard")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'class="staff-nav"' in html
    assert "no longer online" not in html
    assert "Back to the workspace" in html


def test_a_small_share_of_the_goal_is_not_zero(app, demo, make_staff, staff_login):
    add_supporter(NALOXONE, "one@example.org")
    add_supporter(NALOXONE, "two@example.org")
    client = staff_login(make_staff("admin"))
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == NALOXONE))
    html = client.get(f"/staff/campaigns/{campaign.id}/dashboard").get_data(as_text=True)
    assert "&lt; 0.1% of the goal of 10,000" in html
    assert "0% of the goal" not in html


def test_a_mailing_shows_figures_only_once_it_sends_and_says_it_tracks_nobody(
    demo, make_staff, staff_login
):
    add_supporter(NALOXONE, "reader@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    client = staff_login(make_staff("campaigner"))

    scheduled = client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True)
    assert '<span class="badge">Scheduled</span>' in scheduled  # capitalised, as campaigns'
    assert "Recipients now" in scheduled
    assert "Statistics" not in scheduled  # no table of zeros beside "Recipients now 1"
    assert "Cancel the mailing" in scheduled

    commit_change(lifecycle.start, mailing.id)
    sending = client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True)
    assert "Statistics" in sending
    assert "no tracking pixel and no rewritten links" in sending
