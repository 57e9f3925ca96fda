"""The attribution kit: per live campaign, the ?source= link, its QR code drawn by the server,
and for petitions the embed snippet; what it says when no site may embed the forms yet."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from campaigns.extensions import db
from tests.network_directory.conftest import network

NALOXONE = "naloxone-in-every-pocket"


def textareas(html: str) -> dict[str, str]:
    found = re.findall(r'<textarea id="([^"]+)"[^>]*readonly[^>]*>(.*?)</textarea>', html, re.S)
    return {name: html_lib.unescape(value) for name, value in found}


def test_the_kit_has_a_link_and_qr_code_per_live_campaign(admin, app):
    asud = network("asud")
    html = admin.get(f"/staff/networks/{asud.id}/kit").get_data(as_text=True)
    base = app.config["PUBLIC_BASE_URL"]
    boxes = textareas(html)
    links = [value for name, value in boxes.items() if name.startswith("link-")]
    # ASUD reads French: the links open the French pages.
    assert f"{base}/fr/c/{NALOXONE}?source=asud" in links
    assert len(links) == 3
    for name in boxes:
        assert f'<label for="{name}">' in html  # each box has its label

    qr = re.findall(r'<img src="data:image/svg\+xml[^"]*" alt="QR code of the link', html)
    assert len(qr) == 3

    campaign_id = re.search(r"/kit/(\d+)/qr.svg", html).group(1)
    svg = admin.get(f"/staff/networks/{asud.id}/kit/{campaign_id}/qr.svg")
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert "attachment" in svg.headers["Content-Disposition"]
    assert b"<svg" in svg.get_data()
    assert admin.get(f"/staff/networks/{asud.id}/kit/99999/qr.svg").status_code == 404


def test_the_kit_in_another_language(admin, app):
    asud = network("asud")
    url = f"/staff/networks/{asud.id}/kit"
    base = app.config["PUBLIC_BASE_URL"]
    french = admin.get(url).get_data(as_text=True)
    assert '<strong aria-current="page">French (fr)</strong>' in french  # ASUD's own, first
    assert f'href="{url}?lang=en"' in french

    english = admin.get(f"{url}?lang=en").get_data(as_text=True)
    links = [v for name, v in textareas(english).items() if name.startswith("link-")]
    assert f"{base}/en/c/{NALOXONE}?source=asud" in links
    assert len(links) == 3
    qr_path = html_lib.unescape(re.search(r'href="([^"]*/qr\.svg\?lang=en)"', english).group(1))
    svg = admin.get(qr_path)
    assert svg.status_code == 200
    assert "-en.svg" in svg.headers["Content-Disposition"]

    # A language the kit is not had in: the network's own.
    unknown = admin.get(f"{url}?lang=xx").get_data(as_text=True)
    assert f"{base}/fr/c/{NALOXONE}?source=asud" in unknown


def test_without_registered_sites_framing_is_refused_everywhere(admin):
    asud = network("asud")
    html = admin.get(f"/staff/networks/{asud.id}/kit").get_data(as_text=True)
    assert "framing is refused everywhere until an administrator adds" in html
    assert f'href="/staff/networks/{asud.id}/edit"' in html


def test_the_embed_snippet_when_embedding_is_installed(admin, app):
    if "embed.petition" not in app.view_functions:
        pytest.skip("the embeddable form is not installed")
    asud = network("asud")
    asud.embed_origins = ["https://asud.example.org"]
    db.session.commit()
    html = admin.get(f"/staff/networks/{asud.id}/kit").get_data(as_text=True)
    snippets = [value for name, value in textareas(html).items() if name.startswith("snippet-")]
    assert len(snippets) == 3
    base = app.config["PUBLIC_BASE_URL"]
    naloxone = next(s for s in snippets if f"/embed/asud/{NALOXONE}" in s)
    assert naloxone.startswith(f'<iframe src="{base}/fr/embed/asud/{NALOXONE}"')
    assert 'loading="lazy"' in naloxone
    assert "title=" in naloxone
    assert f'<script src="{base}/static/embed-resize.js" async></script>' in naloxone
    assert "https://asud.example.org" in html
    assert "framing is refused everywhere" not in html


def test_without_the_embeddable_form_the_kit_says_so(admin, app, monkeypatch):
    from campaigns.network_directory import kit

    monkeypatch.setattr(kit, "EMBED_ENDPOINT", "embed.not-installed")
    html = admin.get(f"/staff/networks/{network('asud').id}/kit").get_data(as_text=True)
    assert "Embedding is not available on this installation" in html
    assert not [name for name in textareas(html) if name.startswith("snippet-")]


def test_a_deactivated_network_has_no_kit(admin):
    jes = network("jes")
    jes.is_active = False
    db.session.commit()
    html = admin.get(f"/staff/networks/{jes.id}/kit").get_data(as_text=True)
    assert "This network is deactivated" in html
    assert not textareas(html)


def test_the_qr_code_encodes_the_link(admin, app):
    import segno

    html = admin.get(f"/staff/networks/{network('asud').id}/kit").get_data(as_text=True)
    link = next(v for k, v in textareas(html).items() if k.startswith("link-"))
    drawn = html_lib.unescape(re.search(r'<img src="(data:image/svg\+xml[^"]*)"', html).group(1))
    expected = segno.make(link, error="m").svg_data_uri(scale=4, dark="#000", light="#fff")
    assert drawn == expected
