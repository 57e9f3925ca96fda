"""Making, checking and revoking keys: only a hash is stored, a key works until it is revoked
or expires (and fails at once then), scopes are what was asked, each change is audited."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm.attributes import set_committed_value

from campaigns.api_keys import services
from campaigns.api_keys.models import SCOPES, KeyStatus
from campaigns.core.db import utcnow
from campaigns.extensions import db
from tests.api_keys.conftest import audit_entries, keys, network


def make(scopes=("read:campaigns",), net=None, **kwargs):
    api_key, token = services.create_key("ASUD's CiviCRM", scopes, net, **kwargs)
    db.session.commit()
    return api_key, token


def test_a_key_is_stored_only_as_its_hash(demo):
    api_key, token = make(("read:supporters", "read:campaigns"), network("asud"))

    assert token.startswith(api_key.prefix + "_")
    assert len(token) >= len(api_key.prefix) + 1 + 43  # 32 random bytes, base64url
    assert api_key.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert api_key.scopes == "read:campaigns read:supporters"  # sorted
    secret = token[len(api_key.prefix) + 1 :]
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_keys")).all()
        entries = conn.execute(text("SELECT detail FROM audit_log")).all()
    assert len(rows) == 1
    assert not any(secret in str(value) for value in rows[0])
    assert not any(secret in str(entry) or api_key.secret_hash in str(entry) for entry in entries)


def test_authenticate_finds_the_key_and_refuses_anything_else(demo):
    api_key, token = make()
    other, _other_token = make()
    assert services.authenticate(token) is api_key
    assert services.authenticate(f"  {token} ") is api_key

    secret = token[len(api_key.prefix) + 1 :]
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert services.authenticate(f"{api_key.prefix}_{wrong}") is None
    # The secret of one key with the prefix of another.
    assert services.authenticate(f"{other.prefix}_{secret}") is None
    for nonsense in ("", None, "cmp_", token + "x", token.upper(), "Bearer " + token):
        assert services.authenticate(nonsense) is None


def test_a_revoked_key_fails_at_once(demo, make_staff):
    admin = make_staff("admin")
    api_key, token = make()
    assert services.authenticate(token) is not None

    assert services.revoke(api_key, admin) is True
    db.session.commit()
    assert services.authenticate(token) is None
    assert api_key.status() == KeyStatus.REVOKED
    assert services.revoke(api_key, admin) is False  # nothing more to do, nothing audited

    [entry] = audit_entries("api_key.revoked")
    assert entry.actor_id == admin.id
    assert entry.target_type == "api_keys"
    assert entry.target_id == api_key.id
    assert entry.detail["prefix"] == api_key.prefix


def test_an_expired_key_fails_at_once(demo):
    api_key, token = make(expires_at=utcnow() + timedelta(hours=1))
    assert services.authenticate(token) is api_key

    db.session.execute(text("UPDATE api_keys SET expires_at = :past"), {"past": utcnow()})
    db.session.commit()
    db.session.expire_all()
    assert services.authenticate(token) is None
    assert keys()[0].status() == KeyStatus.EXPIRED


def test_a_key_of_a_deactivated_network_is_suspended(demo):
    asud = network("asud")
    _api_key, token = make(("read:supporters",), asud)
    asud.is_active = False
    db.session.commit()
    assert services.authenticate(token) is None
    assert keys()[0].status() == KeyStatus.SUSPENDED
    asud.is_active = True
    db.session.commit()
    assert services.authenticate(token) is not None


def test_last_used_is_written_at_most_once_a_minute(demo):
    api_key, _token = make()
    start = utcnow()
    assert services.touch_last_used(api_key, start) is True
    assert services.touch_last_used(api_key, start + timedelta(seconds=30)) is False

    # Another process, which loaded the key before the first use was noted, writes nothing
    # either: the database checks the time too.
    set_committed_value(api_key, "last_used_at", None)
    assert services.touch_last_used(api_key, start + timedelta(seconds=40)) is False

    assert services.touch_last_used(api_key, start + timedelta(seconds=61)) is True
    db.session.expire_all()
    assert keys()[0].last_used_at == start + timedelta(seconds=61)
    # The caller's session has nothing to write because of it.
    assert not db.session.dirty


def test_key_can_checks_scopes(demo):
    api_key, _token = make(("read:campaigns", "read:counts"))
    assert services.key_can(api_key, "read:counts")
    assert not services.key_can(api_key, "read:supporters")
    with pytest.raises(ValueError, match="unknown API scope"):
        services.key_can(api_key, "read:everything")


def test_creation_is_audited_with_the_prefix_and_network_never_the_secret(demo, make_staff):
    admin = make_staff("admin")
    api_key, token = make(("read:supporters",), network("asud"), created_by=admin)
    [entry] = audit_entries("api_key.created")
    assert entry.actor_id == admin.id
    assert entry.detail["prefix"] == api_key.prefix
    assert entry.detail["network"] == "asud"
    assert entry.detail["scopes"] == ["read:supporters"]
    assert token not in str(entry.detail)


def test_problems_are_named_and_nothing_is_made(demo):
    asud = network("asud")
    past = services.day_end(date.today() - timedelta(days=2))
    found = dict(services.problems("", [], None, past))
    assert set(found) == {"name", "scopes", "expires"}
    assert dict(services.problems("x" * 121, ["read:everything"], asud, None)).keys() == {
        "name",
        "scopes",
    }
    assert (
        "needs a network"
        in dict(services.problems("CRM", ["read:supporters"], None, None))["scopes"]
    )
    assert services.problems("CRM", list(SCOPES), asud, None) == []
    with pytest.raises(services.KeyRequestError):
        services.create_key("", ["read:campaigns"])
    db.session.rollback()
    assert keys() == []
