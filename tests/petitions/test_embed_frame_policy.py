"""The embeddable form may be framed by its network's registered origins and by nobody else;
every other page stays unframeable. No embed response sets a cookie."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.security import CONTENT_SECURITY_POLICY
from campaigns.extensions import db
from campaigns.networks.models import Network
from tests.support import scripts_in

SLUG = "naloxone-in-every-pocket"
EMBED = f"/en/embed/asud/{SLUG}"


def network(slug: str = "asud") -> Network:
    return db.session.scalar(select(Network).where(Network.slug == slug))


def register_origins(*origins: str, slug: str = "asud") -> None:
    network(slug).embed_origins = list(origins)
    db.session.commit()


def directives(policy: str) -> dict[str, str]:
    parsed = {}
    for directive in policy.split(";"):
        name, _space, sources = directive.strip().partition(" ")
        parsed[name] = sources
    return parsed


def frame_ancestors(response) -> str:
    return directives(response.headers["Content-Security-Policy"])["frame-ancestors"]


def fresh(app):
    """A browser that keeps no cookies, as one that blocks third-party cookies is in a frame."""
    return app.test_client(use_cookies=False)


def test_only_the_networks_origins_may_frame_its_embed(app, demo):
    register_origins("https://asud.example.org", "http://localhost:8001")

    response = fresh(app).get(EMBED)

    assert response.status_code == 200
    assert frame_ancestors(response) == "'self' https://asud.example.org http://localhost:8001"
    # X-Frame-Options could only say DENY or SAMEORIGIN, and would forbid what it allows.
    assert "X-Frame-Options" not in response.headers
    # Everything else is the site's own policy, unchanged.
    own = directives(response.headers["Content-Security-Policy"])
    site = directives(CONTENT_SECURITY_POLICY)
    own.pop("frame-ancestors"), site.pop("frame-ancestors")
    assert own == site
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_another_networks_origins_do_not_open_this_networks_embed(app, demo):
    register_origins("https://jes.example.de", slug="jes")
    register_origins("https://asud.example.org")

    assert frame_ancestors(fresh(app).get(EMBED)) == "'self' https://asud.example.org"
    jes = fresh(app).get(f"/en/embed/jes/{SLUG}")
    assert frame_ancestors(jes) == "'self' https://jes.example.de"


def test_a_network_without_origins_has_an_embed_nobody_may_frame(app, demo):
    response = fresh(app).get(EMBED)

    assert response.status_code == 200
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_entry_that_is_not_a_plain_origin_never_reaches_the_header(app, demo):
    register_origins(
        "https://ok.example.org/",  # a trailing slash is still that origin
        "https://evil.example.org; script-src *",
        "https://a.example.org https://b.example.org",
        "javascript:alert(1)",
        "*",
    )

    response = fresh(app).get(EMBED)

    assert frame_ancestors(response) == "'self' https://ok.example.org"
    assert "script-src 'self';" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/en/",
        f"/en/c/{SLUG}",
        f"/en/c/{SLUG}/check-email",
        "/en/c/no-such-campaign",
        "/staff/login",
        f"/en/embed/no-such-network/{SLUG}",
        "/en/embed/asud/no-such-campaign",
    ],
)
def test_every_other_page_stays_unframeable(app, demo, path):
    register_origins("https://asud.example.org")

    response = fresh(app).get(path)

    assert frame_ancestors(response) == "'none'", path
    assert response.headers["X-Frame-Options"] == "DENY", path


def test_unknown_or_inactive_networks_and_hidden_petitions_have_no_embed(app, demo):
    register_origins("https://asud.example.org")
    network("jes").is_active = False
    draft = db.session.scalars(select(Campaign).where(Campaign.slug != SLUG)).first()
    draft.status = CampaignStatus.DRAFT
    db.session.commit()

    client = fresh(app)
    for path in (
        f"/en/embed/nobody/{SLUG}",
        f"/en/embed/jes/{SLUG}",  # deactivated
        f"/en/embed/jes/{SLUG}/check-email",
        f"/en/embed/asud/{draft.slug}",  # not public
        "/en/embed/asud/no-such-campaign",
        f"/xx/embed/asud/{SLUG}",  # no such language
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.get_data(as_text=True)
    refused = client.post(f"/en/embed/jes/{SLUG}", data={"name": "Ada"})
    assert refused.status_code == 404


def test_the_embed_sets_no_cookie_and_takes_its_language_from_the_address(app, demo):
    register_origins("https://asud.example.org")
    client = fresh(app)

    for lang, title in (("en", "Naloxone in every pocket"), ("fr", "De la naloxone")):
        response = client.get(f"/{lang}/embed/asud/{SLUG}")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, lang
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html
        assert title in html
    check_email = client.get(f"/de/embed/asud/{SLUG}/check-email")
    assert check_email.status_code == 200
    assert "Set-Cookie" not in check_email.headers
    # The page of the site itself keeps remembering the language, as before.
    assert "lang=fr" in client.get(f"/fr/c/{SLUG}").headers.get("Set-Cookie", "")


def test_the_embed_loads_only_our_scripts_and_opens_other_pages_in_a_new_tab(app, demo):
    register_origins("https://asud.example.org")

    html = fresh(app).get(EMBED).get_data(as_text=True)

    assert scripts_in(html) == ["/static/forms.js", "/static/embed-frame.js"]
    assert "<style" not in html
    assert " style=" not in html
    assert "Shared with you by ASUD" in html
    # Our other pages may not be framed: a link to one must leave the frame.
    for anchor in re.findall(r"<a\b[^>]*>", html):
        href = re.search(r'href="([^"]*)"', anchor).group(1)
        if not href.startswith("#"):
            assert 'target="_blank"' in anchor, anchor
            assert 'rel="noopener"' in anchor, anchor
    assert f'action="/en/embed/asud/{SLUG}"' in html
