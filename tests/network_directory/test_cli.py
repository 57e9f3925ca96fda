"""`flask networks ...`: the same rules as the staff form; a command with a mistake writes
nothing, names every mistake and exits with status 1."""

from __future__ import annotations

from flask import g
from flask_babel import refresh
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.network_directory.cli import networks_cli
from campaigns.networks.models import Network
from tests.network_directory.conftest import audit_actions, network


def run(app, *args: str):
    # A page requested in this test's app context leaves its language there (g.lang, and
    # Babel's cached locale); a command run from a shell starts without one.
    g.pop("lang", None)
    refresh()
    return app.test_cli_runner().invoke(networks_cli, list(args))


def count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Network))


CREATE = [
    "create",
    "--slug",
    "sananvapaus",
    "--name",
    "Sananvapaus",
    "--country",
    "FI",
    "--language",
    "en",
    "--language",
    "fi",
    "--website",
    "https://www.example.fi",
    "--contact",
    "Aino Virtanen <aino@example.org>",
    "--contact",
    "lead@example.org",
    "--embed-origin",
    "https://www.example.fi/",
]


def test_create_then_list(app, demo):
    result = run(app, *CREATE)
    assert result.exit_code == 0, result.output
    assert "Created sananvapaus: Sananvapaus." in result.output
    created = network("sananvapaus")
    assert created.countries == ["FI"]
    assert created.languages == ["en", "fi"]
    assert created.embed_origins == ["https://www.example.fi"]
    assert [c.email for c in created.contacts] == ["aino@example.org", "lead@example.org"]
    assert audit_actions(created.id) == ["network.created"]

    listing = run(app, "list")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split()[:4] == ["slug", "name", "countries", "languages"]
    row = next(line for line in lines if line.startswith("sananvapaus "))
    assert row.split()[-4:] == ["en,fi", "active", "2", "1"]
    assert "9 networks." in listing.output


def test_mistakes_are_all_named_and_nothing_is_written(app, demo):
    before = count()
    result = run(
        app,
        "create",
        "--slug",
        "asud",
        "--name",
        "",
        "--country",
        "XX",
        "--language",
        "it",
        "--website",
        "http://example.org",
        "--contact",
        "ok@example.org",
        "--contact",
        "Bad <nope>",
        "--embed-origin",
        "https://example.org/path",
    )
    assert result.exit_code == 1
    output = result.output
    assert "--slug: The slug “asud” belongs to ASUD" in output
    assert "--name: Please enter the network's name." in output
    assert "--country: Unknown country: XX" in output
    assert "--language: Alerts can be written in en, fr, de" in output
    assert "--website: Please enter a web address that starts with https://" in output
    assert "--contact #2: “nope” is not a valid email address" in output
    assert "--embed-origin #1: “https://example.org/path”: an origin has no path" in output
    assert "Nothing was written" in output
    assert count() == before


def test_a_missing_country_is_a_mistake(app, demo):
    result = run(app, "create", "--slug", "nowhere", "--name", "Nowhere")
    assert result.exit_code == 1
    assert "--country: Please choose at least one country." in result.output
    assert network("nowhere") is None


def test_update_changes_only_what_is_given(app, demo):
    result = run(app, "update", "asud", "--embed-origin", "https://asud.example.org")
    assert result.exit_code == 0, result.output
    asud = network("asud")
    assert asud.embed_origins == ["https://asud.example.org"]
    assert asud.countries == ["FR"]
    assert [c.email for c in asud.contacts] == ["camille.martin@example.org"]

    cleared = run(app, "update", "asud", "--no-contacts", "--no-embed-origins")
    assert cleared.exit_code == 0, cleared.output
    asud = network("asud")
    assert asud.contacts == []
    assert asud.embed_origins == []
    assert audit_actions(asud.id) == ["network.updated", "network.updated"]

    same = run(app, "update", "asud", "--name", asud.name)
    assert "Nothing was changed." in same.output

    taken = run(app, "update", "asud", "--new-slug", "jes")
    assert taken.exit_code == 1
    assert "belongs to JES-Bundesverband" in taken.output

    unknown = run(app, "update", "nobody", "--name", "X")
    assert unknown.exit_code == 1
    assert "There is no network with the slug “nobody”." in unknown.output


def test_deactivate_and_activate(app, demo, client):
    result = run(app, "deactivate", "jes")
    assert result.exit_code == 0
    assert not network("jes").is_active
    assert client.get("/de/networks/jes").status_code == 404
    assert "inactive" in run(app, "list").output
    assert "was inactive already" in run(app, "deactivate", "jes").output
    assert run(app, "activate", "jes").exit_code == 0
    assert network("jes").is_active
    assert audit_actions(network("jes").id) == ["network.deactivated", "network.reactivated"]
