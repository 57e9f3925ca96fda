"""Every staff route, not a sample: it needs a signed-in account and the right role.

The routes are read from the app's URL map, so a page added later is covered without touching
this file; a staff view without a declared capability fails the first test.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.staff.models import ROLE_CAPABILITIES, Role
from tests.support import csrf_token

# The pages of signing in itself, reachable without an account.
OPEN_ENDPOINTS = {
    "staff.login",
    "staff.login_code",
    "staff.logout",
    "staff.forgot_password",
    "staff.reset_password",
    "staff.set_language",
}


def staff_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff") and rule.endpoint not in OPEN_ENDPOINTS
    ]


def url_for_rule(rule, values: dict[str, object]) -> str:
    args = {name: values.get(name, 1) for name in rule.arguments}
    return rule.build(args, append_unknown=False)[1]


@pytest.fixture
def route_values(demo, make_staff) -> dict[str, object]:
    campaign = db.session.scalars(select(Campaign).order_by(Campaign.id)).first()
    target = make_staff("campaigner", email="target@staff.example.org")
    return {
        "campaign_id": campaign.id,
        "petition_id": campaign.petition.id,
        "staff_id": target.id,
        "slug": campaign.slug,
        "lang": "en",
        "locale": "fr",
        "key": "x",
        "token": "x",
    }


def test_every_staff_view_declares_what_it_needs(app):
    undeclared = [
        rule.endpoint
        for rule in staff_rules(app)
        if not hasattr(app.view_functions[rule.endpoint], "staff_capability")
    ]
    assert undeclared == []


def test_anonymous_visitors_are_sent_to_sign_in_everywhere(app, client, route_values):
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    checked = 0
    for rule in staff_rules(app):
        url = url_for_rule(rule, route_values)
        for method in rule.methods & {"GET", "POST"}:
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.location.startswith("/staff/login"), (method, url)
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_what_it_may(app, role, route_values, make_staff, staff_login):
    network = db.session.scalars(select(Campaign)).first().lead_network
    user = make_staff(role.value, network=network if role == Role.COORDINATOR else None)
    client = staff_login(user)
    token = csrf_token(client.get("/staff/").get_data(as_text=True))
    allowed = ROLE_CAPABILITIES[role]
    for rule in staff_rules(app):
        url = url_for_rule(rule, route_values)
        needed = app.view_functions[rule.endpoint].staff_capability
        if needed is None or needed in allowed:
            if "GET" in rule.methods:
                response = client.get(url)
                assert response.status_code not in (302, 403, 500), (
                    role,
                    url,
                    response.status_code,
                )
            continue
        for method in rule.methods & {"GET", "POST"}:
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            assert response.status_code == 403, (role, method, url, response.status_code)
            assert "You do not have access to this page" in response.get_data(as_text=True)
