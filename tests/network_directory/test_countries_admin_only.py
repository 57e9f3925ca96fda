"""A network's countries are changed by admins only: they decide which signers are offered
"<network> may contact me", so a coordinator who could claim every country could collect consents
meant for other networks. The coordinator sees them, read only; a forged POST changes nothing of
them and saves the rest; admins and the command line still set them."""

from __future__ import annotations

from flask import g
from flask_babel import refresh
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.network_directory.cli import networks_cli
from tests.network_directory.conftest import audit_actions, network, post_form

ADMINS_ONLY = "(an administrator changes them: they decide which signers are asked"


def text(response) -> str:
    return response.get_data(as_text=True)


def profile(network_row, **changes) -> dict:
    """What the coordinator's form sends for the network as it is, with `changes`."""
    return {
        "name": network_row.name,
        "alert_language": network_row.locale,
        "languages": list(network_row.languages),
        "website": network_row.website or "",
        "description": network_row.description or "",
        "contacts": "\n".join(f"{c.name} <{c.email}>" for c in network_row.contacts),
        **changes,
    }


def last_update() -> AuditEntry:
    db.session.expire_all()
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "network.updated")
        .order_by(AuditEntry.id.desc())
    ).first()


def test_a_coordinator_sees_the_countries_read_only(asud_coordinator):
    asud = network("asud")
    page = text(asud_coordinator.get(f"/staff/networks/{asud.id}/edit"))
    assert 'name="countries"' not in page
    assert "Countries it works in:" in page
    assert "France" in page
    assert ADMINS_ONLY in page


def test_a_forged_post_with_countries_changes_them_not_and_saves_the_rest(asud_coordinator):
    asud = network("asud")
    assert asud.countries == ["FR"]
    url = f"/staff/networks/{asud.id}/edit"
    every_country = ["AT", "BE", "DE", "FR", "IE", "NO"]
    response = post_form(
        asud_coordinator,
        url,
        profile(asud, countries=every_country, description="Nouveau texte."),
    )
    assert response.status_code == 303, text(response)[:2000]
    changed = network("asud")
    assert changed.countries == ["FR"]
    assert changed.description == "Nouveau texte."
    assert audit_actions(asud.id) == ["network.updated"]
    assert "countries" not in last_update().detail

    # Countries alone: nothing else to save, nothing saved, and no error either.
    again = post_form(asud_coordinator, url, profile(changed, countries=["DE"]))
    assert again.status_code == 303
    assert "Nothing was changed." in text(asud_coordinator.get(again.location))
    assert network("asud").countries == ["FR"]
    assert audit_actions(asud.id) == ["network.updated"]


def test_an_admin_still_changes_them(admin):
    asud = network("asud")
    url = f"/staff/networks/{asud.id}/edit"
    page = text(admin.get(url))
    assert 'name="countries"' in page
    assert ADMINS_ONLY not in page
    data = profile(asud, slug="asud", embed_origins="", countries=["BE", "FR"])
    response = post_form(admin, url, data)
    assert response.status_code == 303, text(response)[:2000]
    assert network("asud").countries == ["BE", "FR"]
    assert last_update().detail["countries"] == {"from": ["FR"], "to": ["BE", "FR"]}

    # And a member network still needs one.
    refused = post_form(admin, url, {**data, "countries": []})
    assert refused.status_code == 422
    assert "Please choose at least one country." in text(refused)
    assert network("asud").countries == ["BE", "FR"]


def test_the_command_line_still_sets_them(app, demo):
    # As test_cli does: a shell starts without the language a page left in this context.
    g.pop("lang", None)
    refresh()
    result = app.test_cli_runner().invoke(
        networks_cli, ["update", "asud", "--country", "FR", "--country", "be"]
    )
    assert result.exit_code == 0, result.output
    assert network("asud").countries == ["FR", "BE"]
    assert last_update().detail["countries"] == {"from": ["FR"], "to": ["FR", "BE"]}
