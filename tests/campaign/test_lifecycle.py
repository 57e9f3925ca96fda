"""Launch, pause, resume, close, deliver: each recorded with who and when; anything else refused."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.campaign.models import CampaignStatus
from campaigns.core.events import Event
from campaigns.extensions import db
from tests.campaign.conftest import SLUG, campaign_by_slug, create, post


def change(client, campaign, name: str, **fields):
    """Press the button of a change, and confirm it where it asks first (launch, close)."""
    return post(client, f"/staff/campaigns/{campaign.id}/{name}", confirmed="yes", **fields)


def campaign_page(client, campaign) -> str:
    return client.get(f"/staff/campaigns/{campaign.id}/").get_data(as_text=True)


def test_launch_records_the_event_the_change_and_the_audit_entry(campaigner, draft):
    response = change(campaigner, draft, "launch")
    assert response.status_code == 303

    campaign = campaign_by_slug()
    assert campaign.status == CampaignStatus.LIVE
    assert campaign.launched_at is not None
    launched = db.session.scalars(select(Event).where(Event.type == "campaign.launched")).one()
    assert launched.payload["campaign_id"] == campaign.id
    assert launched.payload["staff_user_id"] == campaign.created_by_id
    last = campaign.state_changes[-1]
    assert (last.from_status, last.to_status) == ("draft", "live")
    assert last.changed_by.name == "Rosa Campaigner"
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "campaign.state_changed")
    ).one()
    assert (entry.campaign_id, entry.detail["from"], entry.detail["to"]) == (
        campaign.id,
        "draft",
        "live",
    )

    page = campaign_page(campaigner, campaign)
    assert "The campaign is now: Live." in page
    assert "Draft → Live" in page
    home = campaigner.get("/en/").get_data(as_text=True)
    assert "Housing first for all" in home
    assert campaigner.get(f"/en/c/{SLUG}").status_code == 200


def test_launching_needs_a_ready_default_version(campaigner):
    create(campaigner)  # its English text is a draft
    campaign = campaign_by_slug()
    assert "must be marked ready" in campaign_page(campaigner, campaign)

    response = change(campaigner, campaign, "launch")
    assert response.status_code == 303
    page = campaigner.get(response.location).get_data(as_text=True)
    assert "The campaign cannot be launched yet." in page
    assert "The English version (the default language) must be marked ready." in page
    campaign = campaign_by_slug()
    assert campaign.status == CampaignStatus.DRAFT
    assert len(campaign.state_changes) == 1
    assert db.session.scalars(select(Event).where(Event.type == "campaign.launched")).all() == []


def test_invalid_transitions_are_refused_with_a_message(campaigner, draft):
    for name, message in (
        ("deliver", "Only a closed campaign can be marked delivered: close it first."),
        ("pause", "Only a live campaign can be paused."),
        ("resume", "Only a paused campaign can be resumed."),
        ("close", "Only a live or paused campaign can be closed."),
    ):
        response = change(campaigner, draft, name, note="Handed over in Brussels")
        assert response.status_code == 303, name
        page = campaigner.get(response.location).get_data(as_text=True)
        assert message in page, name
        assert "Its status now: Draft." in page
    campaign = campaign_by_slug()
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.delivery_note is None
    assert [c.to_status for c in campaign.state_changes] == ["draft"]


def test_the_whole_life_of_a_campaign(campaigner, draft):
    change(campaigner, draft, "launch")
    assert change(campaigner, draft, "launch").status_code == 303  # twice: refused, no 500
    assert campaign_by_slug().status == CampaignStatus.LIVE

    change(campaigner, draft, "pause")
    public = campaigner.get(f"/en/c/{SLUG}").get_data(as_text=True)
    assert "Signing is paused for the moment." in public
    change(campaigner, draft, "resume")
    change(campaigner, draft, "close")
    assert campaign_by_slug().status == CampaignStatus.CLOSED

    empty = change(campaigner, draft, "deliver", note="  ")
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert 'id="note-error"' in html
    assert "Please say to whom, when and how the petition was delivered." in html

    note = "Handed to the chair of the EMPL committee, 3 March, in Brussels."
    assert change(campaigner, draft, "deliver", note=note).status_code == 303
    campaign = campaign_by_slug()
    assert campaign.status == CampaignStatus.DELIVERED
    assert campaign.delivery_note == note
    assert [c.to_status for c in campaign.state_changes] == [
        "draft",
        "live",
        "paused",
        "live",
        "closed",
        "delivered",
    ]
    assert campaign.state_changes[-1].note == note
    page = campaign_page(campaigner, campaign)
    assert note in page
    assert "Closed → Delivered" in page
    audit = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "campaign.state_changed")
    ).all()
    assert len(audit) == 5


def test_history_times_are_in_the_staff_members_time_zone(demo, make_staff, staff_login):
    user = make_staff("campaigner")
    user.timezone = "Asia/Kathmandu"  # UTC+05:45: no other zone shares its minutes
    db.session.commit()
    client = staff_login(user)
    create(client, status="ready")
    change(client, campaign_by_slug(), "launch")
    campaign = campaign_by_slug()

    local = campaign.launched_at.astimezone(ZoneInfo("Asia/Kathmandu"))
    minutes = f":{local.minute:02d}:"
    utc_minutes = f":{campaign.launched_at.minute:02d}:"
    history = campaign_page(client, campaign).split("<h2>History</h2>")[1]
    assert minutes in history
    assert utc_minutes not in history
