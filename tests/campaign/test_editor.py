"""Creating and editing campaigns: the happy path, and every kind of bad input refused next to its
field, with what was typed kept."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.campaign.models import Campaign, CampaignStatus, TranslationStatus
from campaigns.extensions import db
from tests.campaign.conftest import SLUG, campaign_by_slug, create, lead_network, post
from tests.support import csrf_token


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_campaigner_creates_a_draft_with_its_petition(campaigner):
    deadline = date.today() + timedelta(days=60)
    response = create(campaigner, deadline=deadline.isoformat(), eci_progress="y")

    assert response.status_code == 303
    campaign = campaign_by_slug()
    assert response.location == f"/staff/campaigns/{campaign.id}/"
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.lead_network_id == lead_network().id
    assert campaign.created_by_id is not None
    petition = campaign.petition
    assert (petition.goal, petition.deadline, petition.eci_progress) == (5000, deadline, True)
    [english] = campaign.translations
    assert (english.locale, english.status) == ("en", TranslationStatus.DRAFT)
    assert english.title == "Housing first for all"
    [created] = campaign.state_changes
    assert (created.from_status, created.to_status) == (None, "draft")
    assert "campaign.created" in audit_actions()

    page = campaigner.get(response.location).get_data(as_text=True)
    assert "The campaign is saved as a draft." in page
    assert "Housing first for all" in page
    assert "Rosa Campaigner" in page  # the history says who created it
    # Not public yet.
    assert campaigner.get(f"/en/c/{SLUG}").status_code == 404


def test_goal_accepts_thousands_separators(campaigner):
    assert create(campaigner, goal="10 000").status_code == 303
    assert campaign_by_slug().petition.goal == 10_000


def assert_refused(response, field_id: str, message: str) -> str:
    """422, the message next to the field (linked by aria-describedby), nothing saved."""
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:2000]
    assert f'id="{field_id}-error"' in html
    assert message in html
    assert f'aria-describedby="{field_id}-error"' in html or f'-hint {field_id}-error"' in html
    assert campaign_by_slug() is None
    return html


def test_a_slug_already_used_is_a_field_error_and_the_text_is_kept(campaigner):
    response = create(campaigner, slug="naloxone-in-every-pocket", title="My carefully typed title")
    html = assert_refused(response, "slug", "Another campaign already uses this address.")
    assert 'value="My carefully typed title"' in html
    assert "fund Housing First" in html


def test_a_slug_must_be_lowercase_letters_digits_and_hyphens(campaigner):
    response = create(campaigner, slug="Housing First!")
    assert_refused(response, "slug", "Use only lowercase letters")


@pytest.mark.parametrize("network_id", ["999999", "99999999999999999999", "²", "-1"])
def test_an_unknown_network_is_refused(campaigner, network_id):
    response = create(campaigner, lead_network_id=network_id)
    assert_refused(response, "lead_network_id", "")
    html = response.get_data(as_text=True)
    assert "This network does not exist." in html or "Please choose the network" in html


def test_a_body_with_a_script_is_refused_not_silently_stripped(campaigner):
    body = "Sign now!\n\n<script>alert('hi')</script>"
    html = assert_refused(
        create(campaigner, body_markdown=body),
        "body_markdown",
        "This text contains HTML that is not allowed: &lt;script&gt;",
    )
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;" in html  # kept, escaped
    assert "<script>alert" not in html


def test_event_handlers_and_javascript_links_are_refused(campaigner):
    handler = create(campaigner, body_markdown='<img src="x.png" onerror="alert(1)">')
    assert_refused(handler, "body_markdown", "not allowed: onerror")
    link = create(campaigner, body_markdown="[Click](javascript:alert(1))")
    assert_refused(link, "body_markdown", "not allowed: href=")


def test_an_over_long_title_is_refused(campaigner):
    response = create(campaigner, title="x" * 201)
    html = assert_refused(response, "title", "Please use at most 200 characters.")
    assert 'value="' + "x" * 201 + '"' in html


def test_a_goal_and_a_deadline_must_make_sense(campaigner):
    assert_refused(create(campaigner, goal="lots"), "goal", "Please enter a whole number")
    assert_refused(create(campaigner, goal="0"), "goal", "from 1 to 100,000,000")
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    assert_refused(create(campaigner, deadline=yesterday), "deadline", "This day has passed.")
    assert_refused(create(campaigner, deadline="31/08/2031"), "deadline", "year-month-day")


def test_missing_fields_are_each_named(campaigner):
    response = create(campaigner, title="", summary="", body_markdown="", goal="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Please give the campaign a title.",
        "Please write a short summary.",
        "Please write the text of the petition.",
        "Please set a goal",
    ):
        assert message in html
    assert "Please correct the following:" in html


def test_settings_are_edited_and_the_slug_is_fixed_after_the_launch(campaigner, draft):
    url = f"/staff/campaigns/{draft.id}/settings"
    page = campaigner.get(url).get_data(as_text=True)
    assert 'value="housing-first-for-all"' in page
    response = campaigner.post(
        url,
        data={
            "csrf_token": csrf_token(page),
            "slug": "housing-first",
            "default_locale": "en",
            "lead_network_id": str(lead_network().id),
            "goal": "7500",
        },
    )
    assert response.status_code == 303
    campaign = campaign_by_slug("housing-first")
    assert campaign.petition.goal == 7500
    assert campaign.petition.eci_progress is False
    assert audit_actions().count("campaign.updated") == 1

    assert (
        post(campaigner, f"/staff/campaigns/{campaign.id}/launch", confirmed="yes").status_code
        == 303
    )
    page = campaigner.get(url).get_data(as_text=True)
    assert 'name="slug"' not in page
    assert "fixed since the launch" in page


def test_the_coordinators_list_is_read_only(demo, make_staff, staff_login):
    campaign = db.session.scalars(select(Campaign).order_by(Campaign.id)).first()
    coordinator = staff_login(make_staff("coordinator", network=lead_network()))

    page = coordinator.get("/staff/campaigns/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Naloxone in every pocket" in html
    assert f"/staff/campaigns/{campaign.id}/dashboard" in html
    assert "/staff/campaigns/new" not in html
    assert f'href="/staff/campaigns/{campaign.id}/"' not in html

    for url in (
        "/staff/campaigns/new",
        f"/staff/campaigns/{campaign.id}/",
        f"/staff/campaigns/{campaign.id}/settings",
        f"/staff/campaigns/{campaign.id}/translations",
        f"/staff/campaigns/{campaign.id}/translations/fr",
        f"/staff/campaigns/{campaign.id}/preview/en",
    ):
        assert coordinator.get(url).status_code == 403, url
    for change in ("launch", "pause", "resume", "close", "deliver"):
        response = post(coordinator, f"/staff/campaigns/{campaign.id}/{change}")
        assert response.status_code == 403, change
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == CampaignStatus.LIVE


def test_anonymous_visitors_are_sent_to_sign_in(demo, client):
    campaign = db.session.scalars(select(Campaign)).first()
    for url in ("/staff/campaigns/", "/staff/campaigns/new", f"/staff/campaigns/{campaign.id}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.location.startswith("/staff/login")


def test_a_slug_taken_between_the_check_and_the_save_is_still_a_field_error(
    campaigner, monkeypatch
):
    from campaigns.editor import services

    monkeypatch.setattr(services, "slug_taken", lambda *_args: False)  # as if two saved at once
    response = create(campaigner, slug="naloxone-in-every-pocket")
    assert_refused(response, "slug", "Another campaign already uses this address.")
