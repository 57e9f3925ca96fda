"""A network's alert subscriptions: a checkbox per topic and channel, saved and audited, with
who receives them and a warning where a channel reaches nobody. Admins reach every network's,
a coordinator only their own; everyone else is refused, route by route."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaigns.alerts.models import AlertSubscription
from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from tests.alerts.conftest import add_endpoint, network, set_contacts
from tests.support import csrf_token


def url(slug: str) -> str:
    return f"/staff/networks/{network(slug).id}/alerts"


def subscriptions(slug: str) -> set[tuple[str, str]]:
    db.session.rollback()
    rows = db.session.scalars(
        select(AlertSubscription).where(AlertSubscription.network_id == network(slug).id)
    )
    return {(str(s.topic), str(s.channel)) for s in rows}


def checked(html: str) -> set[str]:
    """The names of the ticked boxes."""
    return {
        m.group(1)
        for m in re.finditer(r"<input ([^>]*)>", html)
        if "checked" in m.group(1) and 'type="checkbox"' in m.group(1)
        for m in [re.search(r'name="([^"]+)"', m.group(1))]
    }


def save(client, slug: str, *boxes: str):
    page = client.get(url(slug))
    data = {"csrf_token": csrf_token(page.get_data(as_text=True))}
    data.update(dict.fromkeys(boxes, "y"))
    return client.post(url(slug), data=data)


@pytest.fixture
def admin(demo, make_staff, staff_login):
    return staff_login(make_staff("admin"))


@pytest.fixture
def coordinator(demo, make_staff, staff_login):
    """The coordinator of ASUD."""
    return staff_login(make_staff("coordinator", network=network("asud")))


def test_the_page_shows_contacts_endpoints_and_warnings(admin):
    set_contacts("asud", "alice@asud.example.org")
    page = admin.get(url("asud"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "alice@asud.example.org" in html
    assert "No active endpoint: alerts by webhook reach nobody." in html
    assert "No contact:" not in html
    for label in ("A campaign is launched", "Weekly digest", "Urgent action", "mailing"):
        assert label in html
    set_contacts("asud")
    add_endpoint("asud")
    html = admin.get(url("asud")).get_data(as_text=True)
    assert "No contact: alerts by email reach nobody." in html
    assert "1 active endpoint" in html


def test_saving_ticks_and_unticks_with_an_audit_entry(admin):
    response = save(
        admin,
        "asud",
        "campaign_launched__email",
        "milestone_reached__webhook",
        "weekly_digest__email",
    )
    assert response.status_code == 303
    assert subscriptions("asud") == {
        ("campaign.launched", "email"),
        ("petition.milestone_reached", "webhook"),
        ("network.weekly_digest", "email"),
    }
    page = admin.get(response.location).get_data(as_text=True)
    assert "were saved" in page
    assert checked(page) == {
        "campaign_launched__email",
        "milestone_reached__webhook",
        "weekly_digest__email",
    }

    save(admin, "asud", "campaign_launched__email", "urgent_action__webhook")
    assert subscriptions("asud") == {
        ("campaign.launched", "email"),
        ("urgent_action.published", "webhook"),
    }
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "alerts.subscriptions_changed")
        .order_by(AuditEntry.id)
    ).all()
    assert len(entries) == 2
    assert entries[1].detail["added"] == ["urgent_action.published/webhook"]
    assert sorted(entries[1].detail["removed"]) == [
        "network.weekly_digest/email",
        "petition.milestone_reached/webhook",
    ]
    # Saving the same again changes nothing and logs nothing.
    response = save(admin, "asud", "campaign_launched__email", "urgent_action__webhook")
    assert "Nothing was changed." in admin.get(response.location).get_data(as_text=True)
    assert (
        db.session.scalar(
            select(db.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "alerts.subscriptions_changed")
        )
        == 2
    )


def test_a_coordinator_changes_their_own_networks_alerts_only(coordinator):
    assert coordinator.get(url("asud")).status_code == 200
    assert save(coordinator, "asud", "urgent_action__email").status_code == 303
    assert subscriptions("asud") == {("urgent_action.published", "email")}

    refused = coordinator.get(url("jes"))
    assert refused.status_code == 403
    assert "You do not have access to this page" in refused.get_data(as_text=True)
    token = csrf_token(coordinator.get(url("asud")).get_data(as_text=True))
    post = coordinator.post(url("jes"), data={"csrf_token": token, "urgent_action__email": "y"})
    assert post.status_code == 403
    assert subscriptions("jes") == set()
    assert coordinator.get("/staff/networks/999999/alerts").status_code == 403


def test_admins_get_a_404_for_a_network_that_does_not_exist(admin):
    assert admin.get("/staff/networks/999999/alerts").status_code == 404


@pytest.mark.parametrize(
    ("role", "subscriptions_page", "log", "urgent"),
    [
        ("admin", 200, 200, 200),
        ("campaigner", 403, 200, 200),
        ("coordinator", 200, 403, 403),  # of ASUD, looking at ASUD
    ],
)
def test_each_role_reaches_what_it_may(
    demo, make_staff, staff_login, role, subscriptions_page, log, urgent
):
    user = make_staff(role, network=network("asud") if role == "coordinator" else None)
    client = staff_login(user)
    assert client.get(url("asud")).status_code == subscriptions_page
    assert client.get("/staff/alerts/").status_code == log
    assert client.get("/staff/alerts/urgent/new").status_code == urgent
    assert client.get("/staff/alerts/1").status_code in (404 if log == 200 else 403,)


def test_anonymous_visitors_are_sent_to_sign_in(demo, client):
    for path in (url("asud"), "/staff/alerts/", "/staff/alerts/urgent/new", "/staff/alerts/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.location.startswith("/staff/login")
