"""The staff pages, as an admin uses them: the key shown once on the answer to the form, a
mistake explained with what was typed kept, revoking after a question; nobody else gets in."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from html import unescape

import pytest

from campaigns.api_keys import services
from campaigns.extensions import db
from tests.api_keys.conftest import audit_entries, keys, network
from tests.support import csrf_token


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def form_page(client) -> tuple[str, str]:
    """The form's CSRF token and its `once` token, as a browser gets them."""
    html = client.get("/staff/api-keys/new").get_data(as_text=True)
    once = re.search(r'name="once" value="([^"]*)"', html)[1]
    return csrf_token(html), once


def send(client, **fields):
    token, once = form_page(client)
    data = {"csrf_token": token, "once": once, "name": "ASUD's CiviCRM", **fields}
    return client.post("/staff/api-keys/new", data=data)


def shown_key(html: str) -> str:
    return re.search(r'id="share-link"[^>]*value="([^"]+)"', html)[1]


def test_an_admin_makes_a_key_and_sees_it_once(admin):
    asud = network("asud")
    response = send(
        admin,
        network=str(asud.id),
        scopes=["read:campaigns", "read:supporters"],
        expires="2099-12-31",
    )
    assert response.status_code == 200, text(response)[:2000]
    assert response.headers["Cache-Control"] == "no-store"
    html = text(response)
    token = shown_key(html)
    assert "it is not shown again" in html
    [api_key] = keys()
    assert api_key.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert api_key.network_id == asud.id
    assert api_key.scope_list == ["read:campaigns", "read:supporters"]
    # The end of that day where the admin lives (Europe/Brussels by default).
    assert api_key.expires_at == services.day_end(date(2099, 12, 31), "Europe/Brussels")
    assert services.authenticate(token) is not None

    listing = text(admin.get("/staff/api-keys/"))
    assert api_key.prefix in listing
    assert "ASUD's CiviCRM" in listing
    assert token not in listing
    assert token[len(api_key.prefix) + 1 :] not in listing
    [entry] = audit_entries("api_key.created")
    assert entry.detail["prefix"] == api_key.prefix
    assert entry.detail["via"] == "staff page"
    assert token not in str(entry.detail)


def test_the_same_form_sent_twice_makes_one_key(admin):
    token, once = form_page(admin)
    data = {"csrf_token": token, "once": once, "name": "Site", "scopes": ["read:counts"]}
    assert admin.post("/staff/api-keys/new", data=data).status_code == 200
    again = admin.post("/staff/api-keys/new", data=data)
    assert again.status_code == 303
    assert "made already" in text(admin.get(again.location))
    assert len(keys()) == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"scopes": []}, "scopes", "Please choose at least one scope."),
        ({"network": "99999", "scopes": ["read:counts"]}, "network", "Not a valid choice"),
        ({"scopes": ["read:supporters"]}, "scopes", "read:supporters needs a network"),
        ({"scopes": ["read:everything"]}, "scopes", "Please choose from the list."),
        ({"scopes": ["read:counts"], "expires": "2001-01-01"}, "expires", "past"),
        ({"scopes": ["read:counts"], "expires": "tomorrow"}, "expires", "2026-03-31"),
        ({"scopes": ["read:counts"], "name": ""}, "name", "Please say what the key is for."),
        ({"scopes": ["read:counts"], "name": "x" * 121}, "name", "at most 120"),
    ],
)
def test_bad_input_is_explained_and_kept(admin, fields, field, message):
    response = send(admin, **fields)
    assert response.status_code == 422, text(response)[:1000]
    html = text(response)
    assert "Please correct the following:" in html
    assert message in html
    assert f'href="#{field}' in html
    if fields.get("name", "ASUD's CiviCRM"):
        assert 'value="' + fields.get("name", "ASUD's CiviCRM") + '"' in html
    if fields.get("expires"):
        assert f'value="{fields["expires"]}"' in html
    assert keys() == []


def test_every_mistake_is_named_at_once(admin):
    response = send(admin, name="", scopes=[], expires="1999-01-01")
    assert response.status_code == 422
    html = text(response)
    for field in ("name", "scopes-0", "expires"):
        assert f'href="#{field}"' in html
    assert "Please choose at least one scope." in html
    assert keys() == []


def test_a_deactivated_network_is_not_offered(admin):
    asud = network("asud")
    asud.is_active = False
    db.session.commit()
    html = text(admin.get("/staff/api-keys/new"))
    assert f'value="{asud.id}"' not in html
    assert "None (an integration of the platform)" in html


def test_revoking_asks_first_then_the_key_fails(admin, make_staff):
    api_key, token = services.create_key("Site", ["read:counts"])
    db.session.commit()
    page = admin.get("/staff/api-keys/").get_data(as_text=True)
    assert f"/staff/api-keys/{api_key.id}/revoke" in page
    url = f"/staff/api-keys/{api_key.id}/revoke"

    question = admin.post(url, data={"csrf_token": csrf_token(page)})
    assert question.status_code == 200
    assert f"Revoke the key {api_key.prefix}" in text(question)
    assert services.authenticate(token) is not None  # asking changes nothing

    done = admin.post(url, data={"csrf_token": csrf_token(page), "confirmed": "yes"})
    assert done.status_code == 303
    assert services.authenticate(token) is None
    listing = text(admin.get("/staff/api-keys/"))
    assert "Revoked" in listing
    assert f"/staff/api-keys/{api_key.id}/revoke" not in listing
    [entry] = audit_entries("api_key.revoked")
    assert entry.detail["prefix"] == api_key.prefix

    # Without the CSRF token nothing happens.
    other, other_token = services.create_key("Other", ["read:counts"])
    db.session.commit()
    refused = admin.post(f"/staff/api-keys/{other.id}/revoke", data={"confirmed": "yes"})
    assert refused.status_code == 400
    assert services.authenticate(other_token) is not None


def test_an_unknown_key_is_not_found(admin):
    page = admin.get("/staff/api-keys/").get_data(as_text=True)
    response = admin.post(
        "/staff/api-keys/99999/revoke", data={"csrf_token": csrf_token(page), "confirmed": "yes"}
    )
    assert response.status_code == 404


def test_the_menu_shows_api_keys_to_admins_only(admin, make_staff, staff_login, app):
    assert 'href="/staff/api-keys/"' in text(admin.get("/staff/api-keys/"))
    other = app.test_client()
    staff_login(make_staff("campaigner"), on=other)
    assert 'href="/staff/api-keys/"' not in text(other.get("/staff/"))


@pytest.mark.parametrize("role", ["coordinator", "campaigner"])
def test_other_roles_get_403_on_every_page(role, request):
    browser = request.getfixturevalue(role)
    api_key, token = services.create_key("Site", ["read:counts"])
    db.session.commit()
    page = browser.get("/staff/").get_data(as_text=True)
    for method, url in [
        ("GET", "/staff/api-keys/"),
        ("GET", "/staff/api-keys/new"),
        ("POST", "/staff/api-keys/new"),
        ("POST", f"/staff/api-keys/{api_key.id}/revoke"),
    ]:
        data = {
            "csrf_token": csrf_token(page),
            "name": "Mine",
            "scopes": "read:counts",
            "confirmed": "yes",
        }
        response = browser.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (role, method, url)
        assert "You do not have access to this page" in text(response)
    assert len(keys()) == 1
    assert services.authenticate(token) is not None


def test_an_expired_key_is_listed_as_expired(admin):
    api_key, _token = services.create_key(
        "Old", ["read:counts"], expires_at=services.day_end(date.today() + timedelta(days=1))
    )
    db.session.commit()
    api_key.expires_at = services.day_end(date.today() - timedelta(days=3))
    db.session.commit()
    assert "Expired" in text(admin.get("/staff/api-keys/"))


def test_a_key_whose_audit_entry_fails_is_not_made(admin, monkeypatch):
    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("lost connection")

    monkeypatch.setattr("campaigns.api_keys.services.audit", crash)
    response = send(admin, scopes=["read:counts"])
    assert response.status_code == 500
    assert "cmp_" not in text(response)
    db.session.rollback()
    assert keys() == []
