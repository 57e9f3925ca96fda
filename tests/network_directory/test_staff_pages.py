"""The directory's staff pages, used as staff use them: an admin adds a network (and gets each
mistake explained with what was typed kept), edits it, deactivates it after being told what that
means; a coordinator edits their own network's profile only; a campaigner has no access."""

from __future__ import annotations

import re
from html import escape as html_escape

from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.networks.models import NetworkContact
from tests.network_directory.conftest import audit_actions, network, post_form

NEW = {
    "name": "Sananvapaus – Finnish drug users' association",
    "slug": "Sananvapaus",  # stored lowercased
    "countries": ["FI"],
    "alert_language": "en",
    "languages": ["fi", "sv"],
    "website": "https://www.example.fi/",
    "description": "Peer support in Finland.\n\nWe campaign for drug checking.",
    "contacts": "Aino Virtanen <Aino.Virtanen@Example.org>\nlead@example.org",
    "embed_origins": "https://www.example.fi/\nhttp://localhost:8001",
}


def add(client, **changes):
    return post_form(client, "/staff/networks/new", {**NEW, **changes})


def text(response) -> str:
    return response.get_data(as_text=True)


# --- The list, by role ----------------------------------------------------------------------------


def test_admins_see_every_network_with_what_it_brought(admin):
    html = text(admin.get("/staff/networks/"))
    for name in ("ASUD", "JES-Bundesverband", "UISCE", "EuroNPUD"):
        assert name in html
    assert 'href="/staff/networks/new"' in html
    assert "?source=asud" in html

    found = text(admin.get("/staff/networks/?q=norway"))
    assert "FHN" in found
    assert "ASUD" not in found


def test_a_coordinator_sees_their_own_network_only(asud_coordinator):
    html = text(asud_coordinator.get("/staff/networks/"))
    assert "ASUD" in html
    assert "JES-Bundesverband" not in html
    assert "/staff/networks/new" not in html
    jes = network("jes")
    assert asud_coordinator.get(f"/staff/networks/{jes.id}/").status_code == 403
    assert asud_coordinator.get(f"/staff/networks/{jes.id}/edit").status_code == 403
    assert asud_coordinator.get(f"/staff/networks/{jes.id}/kit").status_code == 403
    assert asud_coordinator.get(f"/staff/networks/{jes.id}/logo").status_code == 403
    assert asud_coordinator.get("/staff/networks/new").status_code == 403
    asud = network("asud")
    assert asud_coordinator.get(f"/staff/networks/{asud.id}/").status_code == 200
    token_page = text(asud_coordinator.get(f"/staff/networks/{asud.id}/"))
    # No deactivation for them, and their menu lists their pages.
    assert "/deactivate" not in token_page
    assert f'href="/staff/networks/{asud.id}/kit"' in token_page
    response = post_form(
        asud_coordinator,
        f"/staff/networks/{asud.id}/deactivate",
        {"confirmed": "yes"},
        page_url=f"/staff/networks/{asud.id}/",
    )
    assert response.status_code == 403
    assert network("asud").is_active


def test_campaigners_have_no_access(campaigner):
    asud = network("asud")
    for url in (
        "/staff/networks/",
        "/staff/networks/new",
        f"/staff/networks/{asud.id}/",
        f"/staff/networks/{asud.id}/edit",
        f"/staff/networks/{asud.id}/logo",
        f"/staff/networks/{asud.id}/kit",
    ):
        response = campaigner.get(url)
        assert response.status_code == 403, url
        assert "You do not have access to this page" in text(response)


def test_an_unknown_network_is_not_found(admin):
    assert admin.get("/staff/networks/99999/").status_code == 404
    assert admin.get("/staff/networks/99999/edit").status_code == 404


# --- Adding -------------------------------------------------------------------------------------


def test_an_admin_adds_a_network(admin):
    response = add(admin)
    assert response.status_code == 303, text(response)[:2000]
    created = network("sananvapaus")
    assert created.name == NEW["name"]
    assert created.countries == ["FI"]
    assert created.languages == ["en", "fi", "sv"]  # the alerts' language first
    assert created.embed_origins == ["https://www.example.fi", "http://localhost:8001"]
    assert [(c.name, c.email) for c in created.contacts] == [
        ("Aino Virtanen", "aino.virtanen@example.org"),
        ("", "lead@example.org"),
    ]
    assert created.is_active
    assert audit_actions(created.id) == ["network.created"]

    page = text(admin.get(response.location))
    assert f"{NEW['name']} was added. Its ?source= code is sananvapaus" in page.replace(
        "&#39;", "'"
    )
    assert "aino.virtanen@example.org" in page
    assert "https://www.example.fi" in page


def test_mistakes_are_explained_and_what_was_typed_stays(admin):
    response = add(
        admin,
        slug="asud",
        contacts="Aino <aino@example.org>\nBroken <not-an-address>\nlead@example.org",
        embed_origins="https://ok.example.org\nhttps://www.example.fi/embed/page\nftp://x.example",
        website="http://insecure.example.org",
    )
    html = text(response)
    assert response.status_code == 422
    assert "The slug “asud” belongs to ASUD" in html
    assert "Line 2: “not-an-address” is not a valid email address" in html
    assert "Line 2: “https://www.example.fi/embed/page”: an origin has no path" in html
    assert "Line 3: “ftp://x.example”" in html
    assert "starts with https://" in html
    # Everything typed is still there.
    assert "Broken &lt;not-an-address&gt;" in html
    assert "https://www.example.fi/embed/page" in html
    assert f'value="{NEW["name"]}"' in html.replace("&#39;", "'")
    assert re.search(r'value="FI"[^>]*checked|checked[^>]*value="FI"', html)
    assert network("sananvapaus") is None


def test_an_http_origin_is_refused_unless_local_in_tests(admin, app):
    html = text(add(admin, embed_origins="http://www.example.fi"))
    assert "only https:// sites may embed our forms" in html
    # Loopback over http is for trying the embed out: refused in production.
    app.config.update(TESTING=False)
    try:
        html = text(add(admin, embed_origins="http://localhost:8001"))
    finally:
        app.config.update(TESTING=True)
    assert "only https:// sites may embed our forms" in html


def test_the_slug_must_be_a_slug(admin):
    for slug in ("a", "-bad", "no spaces", "ünï", "x" * 41):
        html = text(add(admin, slug=slug))
        assert "A slug has 2 to 40 lowercase letters" in html, slug


def test_the_same_contact_twice_is_named(admin):
    html = text(add(admin, contacts="a@example.org\nA <A@example.org>"))
    assert "Line 2: a@example.org is listed already (Line 1)." in html


# --- Editing --------------------------------------------------------------------------------------


def test_an_admin_edits_a_network_and_changes_are_audited(admin):
    asud = network("asud")
    url = f"/staff/networks/{asud.id}/edit"
    page = text(admin.get(url))
    assert "Camille Martin &lt;camille.martin@example.org&gt;" in page
    data = {
        "name": asud.name,
        "slug": "asud",
        "countries": ["FR", "BE"],
        "alert_language": "fr",
        "languages": ["fr"],
        "website": "",
        "description": asud.description,
        "contacts": "Camille Martin <camille.martin@example.org>\nNoé <noe@example.org>",
        "embed_origins": "https://asud.example.org",
    }
    response = post_form(admin, url, data)
    assert response.status_code == 303, text(response)[:2000]
    changed = network("asud")
    assert changed.countries == ["BE", "FR"]  # in the list's own order
    assert changed.embed_origins == ["https://asud.example.org"]
    assert [c.email for c in changed.contacts] == [
        "camille.martin@example.org",
        "noe@example.org",
    ]
    assert audit_actions(asud.id) == ["network.updated"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "network.updated"))
    assert entry.detail["contacts"] == {"added": 1}  # how many, never whose address
    assert entry.detail["countries"] == {"from": ["FR"], "to": ["BE", "FR"]}
    assert "noe@example.org" not in str(entry.detail)

    again = post_form(admin, url, data)
    assert again.status_code == 303
    assert "Nothing was changed." in text(admin.get(again.location))
    assert audit_actions(asud.id) == ["network.updated"]


def test_a_coordinator_edits_the_profile_but_not_the_slug_nor_the_origins(asud_coordinator):
    asud = network("asud")
    url = f"/staff/networks/{asud.id}/edit"
    page = text(asud_coordinator.get(url))
    assert 'name="slug"' not in page
    assert 'name="embed_origins"' not in page
    response = post_form(
        asud_coordinator,
        url,
        {
            "name": "ASUD",
            "slug": "hijacked",
            "embed_origins": "https://evil.example.com",
            "countries": ["FR"],
            "alert_language": "fr",
            "languages": ["fr"],
            "description": "Nouveau texte.",
            "contacts": "Camille <camille@example.org>",
        },
    )
    assert response.status_code == 303
    changed = network("asud")
    assert changed.slug == "asud"
    assert changed.embed_origins == []
    assert changed.name == "ASUD"
    assert changed.description == "Nouveau texte."
    assert db.session.query(NetworkContact).filter_by(network_id=asud.id).count() == 1


# --- Deactivating ---------------------------------------------------------------------------------


def test_deactivation_asks_first_and_says_what_it_means(admin, client):
    jes = network("jes")
    url = f"/staff/networks/{jes.id}/deactivate"
    asked = post_form(admin, url, {}, page_url=f"/staff/networks/{jes.id}/")
    html = text(asked)
    assert asked.status_code == 200
    assert "Deactivate JES-Bundesverband" in html
    for consequence in ("No alerts", "No embeds", "No public page", "?source=jes"):
        assert consequence in html
    assert network("jes").is_active

    done = post_form(admin, url, {"confirmed": "yes"}, page_url=f"/staff/networks/{jes.id}/")
    assert done.status_code == 303
    assert not network("jes").is_active
    assert "was deactivated" in text(admin.get(done.location))
    assert client.get("/en/networks/jes").status_code == 404

    back = post_form(
        admin,
        f"/staff/networks/{jes.id}/reactivate",
        {"confirmed": "yes"},
        page_url=f"/staff/networks/{jes.id}/",
    )
    assert back.status_code == 303
    assert network("jes").is_active
    assert audit_actions(jes.id) == ["network.deactivated", "network.reactivated"]


def test_the_network_menu_lists_the_pages_that_exist(admin, app):
    from campaigns.network_directory.blueprint import NETWORK_PAGES

    asud = network("asud")
    html = text(admin.get(f"/staff/networks/{asud.id}/"))
    menu = re.search(
        r'<nav class="report-nav[^"]*" aria-label="Pages about [^"]+">(.*?)</nav>', html, re.S
    )
    for endpoint, label in NETWORK_PAGES:
        shown = f">{html_escape(str(label))}</a>" in menu.group(1)
        assert shown == (endpoint in app.view_functions), endpoint
    assert 'aria-current="page">Profile</a>' in menu.group(1)


def test_the_umbrella_network_needs_no_country(admin):
    umbrella = network("euronpud")
    url = f"/staff/networks/{umbrella.id}/edit"
    page = text(admin.get(url))
    assert "http://localhost:8001" in page  # the demo's local embedding site
    data = {
        "name": umbrella.name,
        "slug": "euronpud",
        "alert_language": "en",
        "languages": ["en", "fr", "de"],
        "website": umbrella.website,
        "description": "Europe-wide.",
        "contacts": "",
        "embed_origins": "",
    }
    response = post_form(admin, url, data)
    assert response.status_code == 303, text(response)[:2000]
    changed = network("euronpud")
    assert changed.countries == []
    assert changed.contacts == []
    assert changed.embed_origins == []
