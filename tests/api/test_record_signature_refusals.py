"""What recording a signature through the API refuses, and how: a problem (RFC 9457) that says
why and names the fields, never a server error, and nothing stored or mailed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from campaigns.api_keys.models import ApiKey
from campaigns.api_keys.services import revoke
from campaigns.campaign.models import Campaign, CampaignKind, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.petitions.models import Petition
from tests.api.signing_support import BODY, NOTHING, SLUG, URL, body, key_for, post, stored
from tests.support import run_outbox, sign

PROBLEM = "application/problem+json"


def assert_problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.content_type == PROBLEM
    problem = answer.json
    assert problem["status"] == status
    assert problem["detail"]
    return problem


def test_without_a_key_401(client, demo):
    answer = post(client, None)
    assert "write:signatures" in assert_problem(answer, 401)["detail"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored() == NOTHING


def test_a_key_without_the_scope_403(client, demo):
    answer = post(client, key_for("asud", "read:campaigns", "read:counts"))
    assert "write:signatures" in assert_problem(answer, 403)["detail"]
    assert stored() == NOTHING


def test_a_key_of_no_network_403(client, demo):
    answer = post(client, key_for(None))
    assert "belongs to no network" in assert_problem(answer, 403)["detail"]
    assert stored() == NOTHING


def test_a_revoked_key_401_at_once(client, demo):
    token = key_for("asud")
    assert post(client, token).status_code == 202
    revoke(db.session.scalar(select(ApiKey)), None, via="command line")
    db.session.commit()
    answer = post(client, token, body(email="later@example.org"))
    assert "revoked" in assert_problem(answer, 401)["detail"]
    assert stored()["Signature"] == 1


def test_a_key_is_checked_before_the_body(client, demo):
    answer = client.post(URL, data="not json", content_type="text/plain")
    assert_problem(answer, 401)


def long(n: int) -> str:
    return "a" * n


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"email": "not-an-address"},
            {
                "person": {
                    "email_addresses": {
                        "0": {
                            "address": [
                                "Please enter a valid email address, like name@example.org."
                            ]
                        }
                    }
                }
            },
        ),
        (
            {"email_addresses": []},
            {"person": {"email_addresses": ["Please enter your email address."]}},
        ),
        (
            {"email_addresses": [{"primary": True}]},
            {
                "person": {
                    "email_addresses": {"0": {"address": ["Please enter your email address."]}}
                }
            },
        ),
        (
            {"email": f"{long(250)}@example.org"},
            {
                "person": {
                    "email_addresses": {
                        "0": {
                            "address": [
                                "Please use at most 254 characters.",
                                "Please enter a valid email address, like name@example.org.",
                            ]
                        }
                    }
                }
            },
        ),
        (
            {"country": "XX"},
            {
                "person": {
                    "postal_addresses": {
                        "0": {"country": ["Please choose your country from the list."]}
                    }
                }
            },
        ),
        (
            {"postal_addresses": [{"locality": "Berlin"}]},
            {"person": {"postal_addresses": {"0": {"country": ["Please choose your country."]}}}},
        ),
        (
            {"given_name": long(300), "family_name": ""},
            {"person": {"given_name": ["Please use at most 120 characters."]}},
        ),
        (
            {"given_name": long(60), "family_name": long(60)},
            {
                "person": {
                    "given_name": ["Please use at most 120 characters."],
                    "family_name": ["Please use at most 120 characters."],
                }
            },
        ),
        (
            {"given_name": "   ", "family_name": ""},
            {"person": {"given_name": ["Please enter your name."]}},
        ),
        (
            {"given_name": "Ada\x07"},
            {
                "person": {
                    "given_name": [
                        "Please write this on a single line, without control characters."
                    ]
                }
            },
        ),
        (
            {"family_name": "Love\nlace"},
            {
                "person": {
                    "family_name": [
                        "Please write this on a single line, without control characters."
                    ]
                }
            },
        ),
        (
            {"email": "ada\x00@example.org"},
            {
                "person": {
                    "email_addresses": {
                        "0": {
                            "address": [
                                "Please write this on a single line, without control characters."
                            ]
                        }
                    }
                }
            },
        ),
        ({"given_name": 7}, {"person": {"given_name": ["Not a valid string."]}}),
    ],
)
def test_an_invalid_person_is_a_422_naming_each_field(client, demo, mailbox, change, errors):
    answer = post(client, key_for("asud"), body(**change))
    assert assert_problem(answer, 422)["errors"] == errors
    assert stored() == NOTHING


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({**BODY, "comments": long(1001)}, {"comments": ["Please use at most 1000 characters."]}),
        (
            {**BODY, "comments": "fine\x00"},
            {"comments": ["Please remove the invisible control characters."]},
        ),
        (
            {**BODY, "consents": {"newsletter": "yes"}},
            {"consents": {"newsletter": ["Not a valid boolean."]}},
        ),
        (
            {**BODY, "consents": {"newsleter": True}},
            {"consents": {"newsleter": ["Unknown field."]}},
        ),
        ({**BODY, "triggers": {}}, {"triggers": ["Unknown field."]}),
        ({"comments": ""}, {"person": ["Missing data for required field."]}),
        ([BODY], {"_schema": ["Invalid input type."]}),
        ("text", {"_schema": ["Invalid input type."]}),
        (None, {"_schema": ["Invalid input type."]}),
    ],
)
def test_an_invalid_body_is_a_422_naming_each_field(client, demo, mailbox, payload, errors):
    answer = client.post(
        URL,
        data=json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key_for('asud')}"},
    )
    assert assert_problem(answer, 422)["errors"] == errors
    assert stored() == NOTHING


def test_messages_follow_accept_language(client, demo):
    answer = post(client, key_for("asud"), body(country="XX"), **{"Accept-Language": "fr"})
    country = assert_problem(answer, 422)["errors"]["person"]["postal_addresses"]["0"]["country"]
    assert country == ["Merci de choisir votre pays dans la liste."]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ('{"person": ', "application/json", 400),
        ("", "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        ("person=Ada", "application/x-www-form-urlencoded", 415),
        ('{"person": {}}', "text/plain", 415),
        ("", None, 415),
    ],
)
def test_a_body_that_is_not_json_is_a_400_or_415(client, demo, data, content_type, status):
    headers = {"Authorization": f"Bearer {key_for('asud')}"}
    answer = client.post(URL, data=data, content_type=content_type, headers=headers)
    assert_problem(answer, status)
    assert stored() == NOTHING


def test_a_bad_idempotency_key_is_a_422(client, demo):
    answer = post(client, key_for("asud"), Idempotency_Key="é" * 3)
    assert list(assert_problem(answer, 422)["errors"]) == ["Idempotency-Key"]
    assert stored() == NOTHING


def naloxone() -> Petition:
    return db.session.scalar(select(Petition).join(Campaign).where(Campaign.slug == SLUG))


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ("paused", 409, "paused"),
        ("closed", 409, "closed"),
        ("deadline passed", 409, "closed"),
        ("draft", 404, "no public petition"),
    ],
)
def test_a_petition_not_open_for_signing_refuses(client, demo, mailbox, change, status, says):
    token = key_for("asud")
    petition = naloxone()
    if change == "deadline passed":
        petition.deadline = utcnow().date() - timedelta(days=1)
    else:
        petition.campaign.status = CampaignStatus(change)
    db.session.commit()
    assert says in assert_problem(post(client, token), status)["detail"]
    assert stored() == NOTHING


def test_unknown_petitions_and_letter_campaigns_are_404(client, demo):
    token = key_for("asud")
    db.session.add(
        Campaign(
            slug="write-to-meps",
            kind=CampaignKind.LETTER,
            status=CampaignStatus.LIVE,
            default_locale="en",
        )
    )
    db.session.commit()
    for slug in ("no-such-petition", "write-to-meps"):
        url = f"/api/v1/petitions/{slug}/signatures"
        assert_problem(post(client, token, url=url), 404)
    assert stored() == NOTHING


def test_the_per_address_limit_is_the_forms(other_app, demo, mailbox):
    """Signing with an address counts against the same limit, by form or by API."""
    app = other_app(RATELIMIT_SIGN_PER_EMAIL="1 per minute")
    client = app.test_client()
    assert sign(client, email="ada@example.org").status_code == 303
    answer = post(client, key_for("asud"), body(email="ADA@example.org"))
    assert assert_problem(answer, 429)["detail"]
    assert answer.headers["Retry-After"] == "60"
    assert post(client, key_for("asud"), body(email="bob@example.org")).status_code == 202
    run_outbox(app)
    assert len(mailbox.to("ada@example.org")) == 1
