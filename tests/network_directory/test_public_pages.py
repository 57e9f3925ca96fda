"""The public pages of the member networks: who they are, the live campaigns with links that
credit them, and how many confirmed signatures each brought: counts, never names."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.network_directory import services as directory
from campaigns.petitions.models import Signature, SignatureStatus
from tests.network_directory.conftest import network
from tests.support import scripts_in

NALOXONE = "naloxone-in-every-pocket"
SIGNED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def add_signatures(slug: str, network_slug: str | None, count: int, **fields) -> None:
    petition = db.session.scalar(select(Campaign).where(Campaign.slug == slug)).petition
    source = network(network_slug).id if network_slug else None
    status = fields.pop("status", SignatureStatus.CONFIRMED)
    for _ in range(count):
        db.session.add(
            Signature(
                petition_id=petition.id,
                status=status,
                email=f"{len(db.session.new)}-{slug}-{network_slug}-{status}-{_}@example.org",
                name=fields.get("name", "Secret Signer"),
                country="FR",
                locale="fr",
                source_network_id=source,
                confirmed_at=SIGNED if status == SignatureStatus.CONFIRMED else None,
            )
        )
    db.session.commit()


def test_the_list_shows_the_active_member_networks(client, demo):
    html = client.get("/fr/networks/").get_data(as_text=True)
    assert "Nos réseaux membres" in html
    assert 'href="/fr/networks/asud"' in html
    assert 'href="/fr/networks/uisce"' in html
    assert 'href="/fr/networks/euronpud"' not in html  # the umbrella is not a member
    assert scripts_in(html) == ["/static/forms.js"]

    network("jes").is_active = False
    db.session.commit()
    assert 'href="/fr/networks/jes"' not in client.get("/fr/networks/").get_data(as_text=True)


def test_a_network_page_shows_counts_never_names(client, demo):
    add_signatures(NALOXONE, "asud", 3, name="Marie Secret")
    add_signatures(NALOXONE, "asud", 2, status=SignatureStatus.PENDING, name="Paul Pending")
    add_signatures(NALOXONE, "jes", 4)
    add_signatures("test-dont-guess", "asud", 1)

    response = client.get("/en/networks/asud")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>ASUD – Auto-Support des Usagers de Drogues</h1>" in html
    assert "France" in html
    assert "Self-support of people who use drugs in France" in html
    # Each live petition, with a link that credits the network.
    assert f'href="/en/c/{NALOXONE}?source=asud"' in html
    assert "3 signatures brought by ASUD" in html
    assert "1 signature brought by ASUD" in html
    assert (
        "4 confirmed signatures came through ASUD – Auto-Support des Usagers de Drogues on our "
        "live petitions." in html
    )
    assert "Marie Secret" not in html
    assert "Paul Pending" not in html
    assert "@example.org" not in html  # not even its contacts
    assert scripts_in(html) == ["/static/forms.js"]

    assert directory.signatures_brought()[network("asud").id] == 4


def test_the_website_is_a_plain_link(client, demo):
    euronpud = network("euronpud")
    html = client.get("/en/networks/euronpud").get_data(as_text=True)
    assert f'<a href="{euronpud.website}" rel="noopener">' in html


def test_inactive_and_unknown_networks_are_not_found(client, demo):
    assert client.get("/en/networks/nobody").status_code == 404
    assert client.get("/xx/networks/asud").status_code == 404
    network("asud").is_active = False
    db.session.commit()
    assert client.get("/en/networks/asud").status_code == 404


def test_the_home_page_links_each_member_network(client, demo):
    html = client.get("/de/").get_data(as_text=True)
    assert '<a href="/de/networks/jes">JES-Bundesverband' in html
    assert 'href="/de/networks/"' in html


def test_letter_actions_are_linked_with_the_network_code(client, demo):
    from campaigns.devstack.demo_letters import SLUG, load_demo_letter_action

    assert load_demo_letter_action()
    db.session.commit()
    html = client.get("/en/networks/caso").get_data(as_text=True)
    assert f'href="/en/write/{SLUG}?source=caso"' in html
    assert "0 letters written through CASO" in html
