"""The public petition page, in every language."""

from __future__ import annotations

import pytest

from tests.support import scripts_in


@pytest.mark.parametrize(
    ("lang", "title", "button"),
    [
        ("en", "Naloxone in every pocket", "Sign"),
        ("fr", "De la naloxone dans chaque poche", "Signer"),
        ("de", "Naloxon in jede Tasche", "Unterschreiben"),
    ],
)
def test_petition_page_is_in_the_language_of_the_url(client, demo, lang, title, button):
    page = client.get(f"/{lang}/c/naloxone-in-every-pocket")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in html
    assert title in html
    assert f">{button}</button>" in html
    # The switcher links to the same page in the other languages.
    for other in ("en", "fr", "de"):
        assert f'href="/{other}/c/naloxone-in-every-pocket"' in html
    assert "<progress" in html


def test_home_lists_the_live_campaigns(client, demo):
    html = client.get("/en/").get_data(as_text=True)
    for title in (
        "Naloxone in every pocket",
        "Test, don&#39;t guess",
        "Health, not handcuffs",
    ):
        assert title in html


def test_home_shows_the_member_networks(client, demo):
    html = client.get("/fr/").get_data(as_text=True)
    assert "Nos réseaux membres" in html
    for name in (
        "ASUD",
        "JES-Bundesverband",
        "ItaNPUD",
        "Svenska Brukarföreningen",
        "FHN",
        "CASO",
        "UISCE",
    ):
        assert name in html
    assert "(Norvège)" in html


def test_favicon_requests_find_the_icon(client, demo):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert client.get(response.location).status_code == 200


def test_root_redirects_to_the_browser_language_then_to_the_saved_choice(client, demo):
    assert client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"}).location == "/de/"
    client.get("/fr/")  # visiting a language saves it
    assert client.get("/", headers={"Accept-Language": "de"}).location == "/fr/"


def test_unknown_language_and_campaign_are_friendly_404s(client, demo):
    for url in ("/xx/c/naloxone-in-every-pocket", "/en/c/no-such-campaign"):
        page = client.get(url)
        assert page.status_code == 404
        assert "Page not found" in page.get_data(as_text=True)


def test_every_page_carries_the_security_headers(client, demo):
    for url in (
        "/en/",
        "/en/c/naloxone-in-every-pocket",
        "/en/c/nope",
        "/api/v1/petitions/naloxone-in-every-pocket/counts",
    ):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "object-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert "script-src 'self'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_public_pages_make_no_third_party_requests(client, demo):
    html = client.get("/en/c/naloxone-in-every-pocket").get_data(as_text=True)
    assert scripts_in(html) == ["/static/forms.js"]  # our own, from this site
    for attribute in ('src="http', 'href="http'):
        # Only links a person clicks may leave the site; nothing is loaded from elsewhere.
        assert attribute not in html.replace('<a href="http', "")


def test_production_cookies_are_secure_host_only_and_httponly(other_app, demo):
    production = other_app(PROFILE="production", SESSION_COOKIE_SECURE=True, SECRET_KEY="x" * 32)
    response = production.test_client().get(
        "/en/c/naloxone-in-every-pocket", base_url="https://localhost"
    )
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("__Host-session="))
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Domain=" not in session_cookie
    assert "Path=/" in session_cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_cached_page_gives_each_visitor_their_own_token_and_the_current_count(
    app, demo, mailbox
):
    from tests.support import confirm_by_link, csrf_token, links_in, run_outbox, sign

    first, second = app.test_client(), app.test_client()
    url = "/en/c/naloxone-in-every-pocket"
    token_one = csrf_token(first.get(url).get_data(as_text=True))
    token_two = csrf_token(second.get(url).get_data(as_text=True))
    assert token_one != token_two
    assert "placeholder" not in first.get(url).get_data(as_text=True)

    assert sign(second, email="cached@example.org").status_code == 303
    run_outbox(app)
    confirm_by_link(
        second, next(link for link in links_in(mailbox.messages[0]) if "/confirm/" in link)
    )
    assert "<strong>1 signature</strong>" in first.get(url).get_data(as_text=True)


def test_signing_works_over_https_in_production(other_app, demo):
    """Over HTTPS the CSRF check also wants a same-origin Referer, which browsers send only if the
    referrer policy lets them: a "no-referrer" policy would make every signature fail."""
    from tests.support import csrf_token

    production = other_app(PROFILE="production", SESSION_COOKIE_SECURE=True, SECRET_KEY="x" * 32)
    client = production.test_client()
    url = "https://localhost/en/c/naloxone-in-every-pocket"
    page = client.get(url)
    assert page.headers["Referrer-Policy"] == "same-origin"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "name": "Tls",
            "email": "tls@example.org",
            "country": "BE",
        },
        headers={"Referer": url},  # what a browser sends under "same-origin"
    )
    assert response.status_code == 303
