"""Signing through the embeddable form as a browser that blocks third-party cookies would: no
cookie ever kept or sent. The same double opt-in as the petition page; the confirmed signature
is attributed to the network whose embed took it."""

from __future__ import annotations

import html as html_lib
import re

from sqlalchemy import func, select

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions import embed_tokens
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.petitions.tallies.services import current_tally
from tests.support import confirm_by_link, csrf_token, links_in, run_outbox

SLUG = "naloxone-in-every-pocket"
EMBED = f"/en/embed/asud/{SLUG}"
ORIGIN = "https://asud.example.org"


def setup_network(slug: str = "asud") -> Network:
    network = db.session.scalar(select(Network).where(Network.slug == slug))
    network.embed_origins = [ORIGIN]
    db.session.commit()
    return network


def fresh(app):
    """A client with no cookie jar: each request goes out without cookies, as from a frame."""
    return app.test_client(use_cookies=False)


def form_token(app, path: str = EMBED) -> str:
    page = fresh(app).get(path)
    assert page.status_code == 200
    return csrf_token(page.get_data(as_text=True))


def fields(**changes: str) -> dict[str, str]:
    data = {
        "name": "Ada Example",
        "email": "ada@example.org",
        "country": "FR",
        "comment": "From the ASUD site",
    }
    data.update(changes)
    return data


def post(app, token: str, path: str = EMBED, **changes: str):
    response = fresh(app).post(path, data={"csrf_token": token, **fields(**changes)})
    assert "Set-Cookie" not in response.headers, response.status_code
    return response


def frame_ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]*)", response.headers["Content-Security-Policy"])[1]


def field_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html_lib.unescape(value.group(1)) if value else ""


def signatures() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Signature))


def test_sign_in_the_frame_confirm_by_mail_and_count_for_the_network(app, client, demo, mailbox):
    asud = setup_network()
    petition_id = db.session.scalar(select(Petition.id))
    before = current_tally(petition_id).by_network.get(asud.id, 0)

    response = post(app, form_token(app))

    assert response.status_code == 303
    assert response.location.endswith(f"/en/embed/asud/{SLUG}/check-email")
    page = fresh(app).get(response.location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Check your email" in text
    assert "ada@example.org" not in text  # no session to remember it by
    assert frame_ancestors(page) == f"'self' {ORIGIN}"
    assert "Set-Cookie" not in page.headers

    signature = db.session.scalar(select(Signature))
    assert signature.status == SignatureStatus.PENDING
    assert signature.source_network_id == asud.id
    assert signature.source_url == f"http://localhost/en/embed/asud/{SLUG}"
    assert (signature.country, signature.comment) == ("FR", "From the ASUD site")

    # The same confirmation mail as the petition page's, sent by the worker's handler.
    assert mailbox.messages == []
    run_outbox(app)
    [message] = mailbox.messages
    assert message["To"] == "ada@example.org"
    confirm = next(link for link in links_in(message) if "/confirm/" in link)
    # The link opens our own site, first-party, where the normal confirmation page takes over.
    assert confirm.startswith("http://localhost/en/confirm/")
    assert confirm_by_link(client, confirm).status_code == 303

    db.session.rollback()
    signature = db.session.scalar(select(Signature))
    assert signature.status == SignatureStatus.CONFIRMED
    assert signature.source_network_id == asud.id
    assert current_tally(petition_id).by_network.get(asud.id, 0) == before + 1


def test_a_forged_or_foreign_token_gets_the_form_back_with_what_was_typed(app, demo, mailbox):
    setup_network()
    setup_network("jes")
    other_network = form_token(app, f"/en/embed/jes/{SLUG}")
    for token in ("", "forged", other_network):
        response = post(app, token, name="Bea Example", email="bea@example.org")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, token
        assert "This form could not be checked. We kept what you typed" in html
        assert field_value(html, "name") == "Bea Example"
        assert field_value(html, "email") == "bea@example.org"
        assert "From the ASUD site" in html
        # A new token to press the button again with, and the page still frames.
        assert csrf_token(html) not in ("", "forged", other_network)
        assert frame_ancestors(response) == f"'self' {ORIGIN}"
    assert signatures() == 0


def test_a_token_for_another_petition_is_refused(app, demo):
    setup_network()
    other = db.session.scalars(select(Petition)).all()
    other_slug = next(p.campaign.slug for p in other if p.campaign.slug != SLUG)
    token = form_token(app, f"/en/embed/asud/{other_slug}")

    assert post(app, token).status_code == 400
    assert post(app, token, path=f"/en/embed/asud/{other_slug}").status_code == 303


def test_an_expired_form_says_so_and_keeps_what_was_typed(app, demo, monkeypatch):
    setup_network()
    token = form_token(app)
    monkeypatch.setattr(embed_tokens, "MAX_AGE_SECONDS", -1)  # hours later

    response = post(app, token, name="Cleo Example")
    html = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "For your security this form had expired. We kept what you typed" in html
    assert field_value(html, "name") == "Cleo Example"
    monkeypatch.setattr(embed_tokens, "MAX_AGE_SECONDS", 7200)
    assert post(app, csrf_token(html), name="Cleo Example").status_code == 303
    assert signatures() == 1


def test_invalid_input_is_shown_with_what_was_typed_and_frames(app, demo):
    setup_network()

    response = post(app, form_token(app), email="not an address", country="XX")
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "Please enter a valid email address" in html
    assert "Please choose your country from the list." in html
    assert field_value(html, "email") == "not an address"
    assert field_value(html, "name") == "Ada Example"
    assert html.count('class="error-summary"') == 1
    assert frame_ancestors(response) == f"'self' {ORIGIN}"
    assert "X-Frame-Options" not in response.headers
    assert signatures() == 0


def test_the_bot_trap_looks_like_success_and_stores_nothing(app, demo, mailbox):
    setup_network()

    response = post(app, form_token(app), website="http://spam.example")

    assert response.status_code == 303
    assert response.location.endswith("/check-email")
    assert signatures() == 0
    run_outbox(app)
    assert mailbox.messages == []


def test_the_petition_pages_rate_limits_apply_to_the_embed(app, demo, monkeypatch):
    setup_network()
    monkeypatch.setitem(app.config, "RATELIMIT_SIGN_PER_EMAIL", "1 per minute")
    token = form_token(app)

    assert post(app, token).status_code == 303
    again = post(app, token, name="Ada Again")
    html = again.get_data(as_text=True)

    # In the frame, not the site's error page (which may not be framed): the form, kept.
    assert again.status_code == 429
    assert again.headers["Retry-After"] == "60"
    assert "You have tried this too often" in html
    assert field_value(html, "name") == "Ada Again"
    assert frame_ancestors(again) == f"'self' {ORIGIN}"
    assert signatures() == 1


def test_a_petition_closed_after_the_form_loaded_says_so_in_the_frame(app, demo):
    setup_network()
    token = form_token(app)
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
    campaign.status = CampaignStatus.CLOSED
    db.session.commit()

    response = post(app, token)

    assert response.status_code == 409
    assert "This petition is closed" in response.get_data(as_text=True)
    assert frame_ancestors(response) == f"'self' {ORIGIN}"
    assert signatures() == 0


def test_a_network_deactivated_after_the_form_loaded_attributes_nothing(app, demo):
    setup_network()
    token = form_token(app)
    db.session.scalar(select(Network).where(Network.slug == "asud")).is_active = False
    db.session.commit()

    assert post(app, token).status_code == 404
    assert signatures() == 0
