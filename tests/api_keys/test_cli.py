"""`flask api-keys ...`: the key printed once, a mistake named and nothing written (status 1),
the list, revoking by prefix."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from campaigns.api_keys import services
from tests.api_keys.conftest import audit_entries, keys, run_cli


def test_create_prints_the_key_once_and_stores_its_hash(app, demo):
    result = run_cli(
        app,
        "create",
        "--name",
        "ASUD's CiviCRM",
        "--network",
        "asud",
        "--scope",
        "read:campaigns",
        "--scope",
        "read:supporters",
        "--expires",
        "2099-12-31",
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token  # stdout is the key alone, for a script to capture
    assert "it is not shown again" in result.stderr
    [api_key] = keys()
    assert token.startswith(api_key.prefix + "_")
    assert api_key.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert api_key.network.slug == "asud"
    assert api_key.scope_list == ["read:campaigns", "read:supporters"]
    assert api_key.created_by_id is None
    assert api_key.expires_at == services.day_end(date(2099, 12, 31))
    assert services.authenticate(token) is not None

    [entry] = audit_entries("api_key.created")
    assert entry.actor_id is None
    assert entry.detail["via"] == "command line"
    assert entry.detail["network"] == "asud"
    assert token not in str(entry.detail)

    listing = run_cli(app, "list")
    assert listing.exit_code == 0
    assert token not in listing.output
    row = next(line for line in listing.output.splitlines() if line.startswith(api_key.prefix))
    assert "ASUD's CiviCRM" in row
    assert "read:campaigns,read:supporters" in row
    assert "2100-01-01 00:00" in row
    assert row.split()[-1] == "active"
    assert "1 key." in listing.output


def test_every_mistake_is_named_and_nothing_is_written(app, demo):
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    cases = [
        (["--name", "CRM", "--network", "nowhere", "--scope", "read:counts"], "nowhere"),
        (["--name", "CRM", "--scope", "read:everything"], "Unknown scope: read:everything"),
        (["--name", "CRM", "--scope", "read:counts", "--expires", yesterday], "past"),
        (["--name", "CRM", "--scope", "read:counts", "--expires", "31/12/2099"], "2026-03-31"),
        (["--name", "CRM", "--scope", "read:supporters"], "read:supporters needs a network"),
        (["--name", "CRM"], "at least one scope"),
        (["--scope", "read:counts"], "--name"),
    ]
    for args, expected in cases:
        result = run_cli(app, "create", *args)
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.stderr, (args, result.stderr)
        assert "Nothing was written" in result.stderr
        assert result.stdout == ""
    assert keys() == []
    assert audit_entries("api_key.created") == []


def test_revoke_by_prefix(app, demo):
    created = run_cli(app, "create", "--name", "Site", "--scope", "read:counts")
    token = created.stdout.strip()
    [api_key] = keys()

    result = run_cli(app, "revoke", api_key.prefix)
    assert result.exit_code == 0, result.output
    assert f"Revoked {api_key.prefix}." in result.output
    assert services.authenticate(token) is None
    [entry] = audit_entries("api_key.revoked")
    assert entry.actor_id is None
    assert entry.detail["via"] == "command line"

    again = run_cli(app, "revoke", api_key.prefix)
    assert again.exit_code == 0
    assert "revoked already" in again.output
    assert len(audit_entries("api_key.revoked")) == 1

    unknown = run_cli(app, "revoke", "cmp_nothere")
    assert unknown.exit_code == 1
    assert "There is no key with the prefix" in unknown.stderr
    assert run_cli(app, "list").output.splitlines()[1].split()[-1] == "revoked"
