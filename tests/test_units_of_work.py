"""A change of state, its audit entry and its event are one transaction: a failure between them
leaves none of them. The view (or task) commits once, after all of them; services only flush."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from campaigns.audit.models import AuditEntry
from campaigns.campaign.models import CampaignStatus
from campaigns.core.events import Event
from campaigns.extensions import db
from campaigns.mailings import lifecycle
from campaigns.mailings.models import Mailing, MailingStatus
from campaigns.staff.models import Role, StaffUser
from tests.campaign.conftest import campaign_by_slug, create, post
from tests.mailings.conftest import add_supporter, make_mailing
from tests.support import commit_change, start_due_mailings


class Crash(Exception):
    """Stands for anything that can fail mid-request: a lost connection, a bug, a kill."""


def crash(*_args: object, **_kwargs: object) -> None:
    raise Crash


def audit_entries(action: str) -> int:
    db.session.rollback()  # read what the request committed, nothing more
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


@pytest.fixture
def campaigner(demo, make_staff, staff_login):
    return staff_login(make_staff("campaigner", name="Rosa Campaigner"))


def test_a_launch_that_fails_before_its_event_leaves_the_campaign_a_draft(campaigner, monkeypatch):
    assert create(campaigner, status="ready").status_code == 303
    draft = campaign_by_slug()
    # The status and the audit entry are written; then recording the event fails.
    monkeypatch.setattr("campaigns.campaign.lifecycle.record_event", crash)

    response = post(campaigner, f"/staff/campaigns/{draft.id}/launch", confirmed="yes")

    assert response.status_code == 500
    campaign = campaign_by_slug()
    assert campaign.status == CampaignStatus.DRAFT
    assert [change.to_status for change in campaign.state_changes] == ["draft"]
    assert audit_entries("campaign.state_changed") == 0
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0

    monkeypatch.undo()  # and the same press, without the failure, does all three
    assert (
        post(campaigner, f"/staff/campaigns/{draft.id}/launch", confirmed="yes").status_code == 303
    )
    assert campaign_by_slug().status == CampaignStatus.LIVE
    assert audit_entries("campaign.state_changed") == 1


def test_a_pause_whose_audit_entry_fails_leaves_the_mailing_sending(
    demo, make_staff, staff_login, monkeypatch
):
    add_supporter("naloxone-in-every-pocket", "reader@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    assert start_due_mailings() == [mailing.id]
    browser = staff_login(make_staff("campaigner"))
    monkeypatch.setattr("campaigns.mailings.sending_views.audit", crash)

    response = post(browser, f"/staff/mailings/{mailing.id}/pause")

    assert response.status_code == 500
    db.session.rollback()
    assert db.session.get(Mailing, mailing.id).status == MailingStatus.SENDING
    assert audit_entries("mailing.state_changed") == 0


def test_a_role_change_whose_audit_entry_fails_changes_no_role(
    demo, make_staff, staff_login, monkeypatch
):
    admin = staff_login(make_staff("admin"))
    member = make_staff("campaigner", email="member@example.org")
    page = admin.get(f"/staff/team/{member.id}")
    assert page.status_code == 200
    monkeypatch.setattr("campaigns.staff.services.audit", crash)

    response = post(
        admin,
        f"/staff/team/{member.id}",
        email=member.email,
        name=member.name,
        role="admin",
        is_active="y",
    )

    assert response.status_code == 500
    db.session.rollback()
    assert db.session.get(StaffUser, member.id).role == Role.CAMPAIGNER
    assert audit_entries("staff.updated") == 0
