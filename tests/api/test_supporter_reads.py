"""A network's key reads its consenting supporters, and nobody else: per endpoint, network A's
key never sees B's supporters, nor anyone who brought no consent to A, declined, withdrew, is
not confirmed or was erased. Every read is audited; a revoked key is refused at once.

The same two networks as the coordinators' pages (tests/exports/test_shared_supporters.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from campaigns.api_keys.models import ApiKey
from campaigns.api_keys.services import create_key, revoke
from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.petitions.models import ConsentRecord
from tests.exports.test_shared_supporters import NOT_FOR_A

PETITION = "naloxone-in-every-pocket"
ENDPOINTS = ("/api/v1/people", f"/api/v1/petitions/{PETITION}/signatures")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def key_of(app_ctx):
    def make(network, *scopes: str) -> str:
        _key, token = create_key(f"test key {network.slug}", scopes or ["read:supporters"], network)
        db.session.commit()
        return token

    return make


def names(answer, collection: str) -> list[str]:
    items = answer.json["_embedded"][collection]
    return [item.get("name") or item["person"]["name"] for item in items]


@pytest.mark.parametrize(
    ("path", "collection"), [(ENDPOINTS[0], "osdi:people"), (ENDPOINTS[1], "osdi:signatures")]
)
def test_each_network_reads_its_own_consenting_supporters_and_nobody_else(
    client,
    two_networks,
    key_of,
    path,
    collection,
):
    a, b = two_networks
    for_a = client.get(path, headers=bearer(key_of(a)))
    assert for_a.status_code == 200
    assert for_a.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in for_a.headers  # not readable by a browser page
    assert names(for_a, collection) == ["Alice Asud"]
    assert for_a.json["total_records"] == 1
    text = for_a.get_data(as_text=True)
    for someone in (*NOT_FOR_A, "Gina Erased"):
        assert someone not in text
    for_b = client.get(path, headers=bearer(key_of(b)))
    assert names(for_b, collection) == ["Bruno Jes"]


def test_a_person_carries_what_they_agreed_to_share_and_each_consent(client, two_networks, key_of):
    a, _b = two_networks
    (person,) = client.get(ENDPOINTS[0], headers=bearer(key_of(a))).json["_embedded"]["osdi:people"]
    assert person["postal_addresses"] == [{"country": "FR"}]
    assert person["email_addresses"][0]["address"].endswith("@example.org")
    assert person["consents"] == [
        {
            "petition": PETITION,
            "given_date": "2026-03-02T10:00:00+00:00",
            "confirmed_date": "2026-03-02T10:05:00+00:00",
            "wording_version": 1,
            "language": "en",
        }
    ]
    # The identifier is stable for A, and another network would see another.
    again = client.get(ENDPOINTS[0], headers=bearer(key_of(a))).json["_embedded"]["osdi:people"]
    assert again[0]["identifiers"] == person["identifiers"]
    assert person["email_addresses"][0]["address"] not in person["identifiers"][0]


def test_a_withdrawal_disappears_from_the_next_answer(client, two_networks, key_of):
    a, _b = two_networks
    token = key_of(a)
    assert client.get(ENDPOINTS[0], headers=bearer(token)).json["total_records"] == 1
    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.network_id == a.id)
        .values(withdrawn_at=datetime.now(UTC))
    )
    db.session.commit()
    for path in ENDPOINTS:
        assert client.get(path, headers=bearer(token)).json["total_records"] == 0


def test_every_read_is_in_the_audit_log(client, two_networks, key_of):
    a, _b = two_networks
    token = key_of(a)
    for path in ENDPOINTS:
        client.get(path, headers=bearer(token))
    db.session.rollback()
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "api.personal_data_read")
    ).all()
    assert [e.detail["path"] for e in entries] == list(ENDPOINTS)
    assert all(e.detail["records"] == 1 and e.detail["network_id"] == a.id for e in entries)
    assert token not in str([e.detail for e in entries])


@pytest.mark.parametrize("path", ENDPOINTS)
def test_keys_that_may_not_read_supporters_are_refused(client, two_networks, key_of, app, path):
    a, _b = two_networks
    no_key = client.get(path)
    assert (no_key.status_code, no_key.content_type) == (401, "application/problem+json")
    assert no_key.headers["WWW-Authenticate"].startswith("Bearer")
    wrong_scope = client.get(path, headers=bearer(key_of(a, "read:campaigns")))
    assert wrong_scope.status_code == 403
    assert "read:supporters" in wrong_scope.json["detail"]
    assert client.get(path, headers=bearer("cmp_nothing_like_a_key")).status_code == 401

    token = key_of(a)
    assert client.get(path, headers=bearer(token)).status_code == 200
    revoke(db.session.scalar(select(ApiKey).order_by(ApiKey.id.desc())), None)
    db.session.commit()
    refused = client.get(path, headers=bearer(token))
    assert refused.status_code == 401
    assert "revoked" in refused.json["detail"]


def test_an_expired_key_is_refused_at_once(client, two_networks, key_of):
    a, _b = two_networks
    token = key_of(a)
    assert client.get(ENDPOINTS[0], headers=bearer(token)).status_code == 200
    key = db.session.scalar(select(ApiKey).order_by(ApiKey.id.desc()))
    key.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    refused = client.get(ENDPOINTS[0], headers=bearer(token))
    assert (refused.status_code, refused.content_type) == (401, "application/problem+json")
    assert "expired" in refused.json["detail"]
