"""The box "<network> may contact me" on the signing form: offered where a member network brought
the signer or works in their country, unticked, stored with its own wording per language and
version, and accepted only for a network that may take it."""

from __future__ import annotations

import re

import pytest
from flask import render_template
from sqlalchemy import event, select

from campaigns.core.db import autocommit
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.consent import network_wording
from campaigns.petitions.forms import SignatureForm
from campaigns.petitions.models import ConsentRecord, ConsentText, Signature
from campaigns.petitions.submission import signature_input
from tests.support import confirm_by_link, csrf_token, links_in, run_outbox, sign

SLUG = "naloxone-in-every-pocket"
ASUD_NAME = "ASUD – Auto-Support des Usagers de Drogues"


def network(slug: str) -> Network:
    return db.session.scalar(select(Network).where(Network.slug == slug))


def box_of(html: str) -> dict[str, object]:
    """What the page shows of the box: visible or not, its label, its network, ticked or not."""
    wrapper = re.search(
        r'<div id="network-consent" data-network-consent( hidden)?>(.*?)</div>\s*</div>', html, re.S
    )
    assert wrapper, "the box's markup is missing"
    inner = wrapper.group(2)
    return {
        "shown": wrapper.group(1) is None,
        "label": re.search(r'<label for="network_consent"[^>]*>(.*?)</label>', inner, re.S)
        .group(1)
        .replace("&#39;", "'")
        .replace("&amp;", "&"),
        "network": re.search(
            r'name="network_consent_for" type="hidden" value="([^"]*)"', inner
        ).group(1),
        "ticked": bool(re.search(r'name="network_consent" value="y" checked', inner)),
    }


def network_consents() -> list[ConsentRecord]:
    return db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.network_id.is_not(None))
        .order_by(ConsentRecord.id)
    ).all()


def test_the_box_is_offered_unticked_for_the_network_whose_link_brought_the_signer(client, demo):
    asud = network("asud")
    html = client.get(f"/en/c/{SLUG}?source=asud").get_data(as_text=True)
    box = box_of(html)
    assert box == {
        "shown": True,
        "label": f"{ASUD_NAME}, a member network of the European Network of People who Use Drugs, "
        "may contact me by email about its work. It sees my name, email address and country. "
        "I can withdraw this at any time with the link in the emails.",
        "network": str(asud.id),
        "ticked": False,
    }
    # The network that brought the signer stays, whatever country is chosen: no country list.
    assert 'id="network-offers"' not in html


def test_without_a_network_no_box_shows_and_the_page_carries_each_countrys_network(
    app, client, demo
):
    html = client.get(f"/en/c/{SLUG}").get_data(as_text=True)
    assert box_of(html) == {"shown": False, "label": "", "network": "", "ticked": False}
    offers = re.search(r'<template id="network-offers">(.*?)</template>', html, re.S).group(1)
    found = dict(re.findall(r'data-country="(\w\w)" data-network="(\d+)"', offers))
    assert found["FR"] == str(network("asud").id)
    assert found["DE"] == str(network("jes").id)
    assert "EuroNPUD" not in offers  # the umbrella network has no box of its own
    assert f"{ASUD_NAME}, a member network" in offers

    # No box for the umbrella's code, an unknown code, or a deactivated network's.
    network("itanpud").is_active = False
    db.session.commit()
    app.extensions.pop("page_cache", None)  # the blank page is remembered for a few seconds
    for source in ("euronpud", "nobody", "itanpud"):
        html = client.get(f"/en/c/{SLUG}?source={source}").get_data(as_text=True)
        assert box_of(html)["shown"] is False, source
    html = client.get(f"/en/c/{SLUG}").get_data(as_text=True)
    assert 'data-country="IT"' not in html


def test_the_box_follows_the_page_cache_per_source(client, demo):
    # The blank page is cached per language, ?source= code and count: each gets its own.
    for _ in range(2):
        assert box_of(client.get(f"/en/c/{SLUG}?source=asud").get_data(as_text=True))["shown"]
        assert not box_of(client.get(f"/en/c/{SLUG}").get_data(as_text=True))["shown"]
        assert (
            "JES-Bundesverband"
            in box_of(client.get(f"/en/c/{SLUG}?source=jes").get_data(as_text=True))["label"]
        )


@pytest.mark.parametrize("ticked", [True, False])
def test_the_choice_is_recorded_with_the_wording_shown_and_confirmed_by_mail(
    app, client, demo, mailbox, ticked
):
    asud = network("asud")
    response = sign(
        client,
        lang="fr",
        email="camille@example.org",
        country="FR",
        source="asud",
        network_consent_for=str(asud.id),
        network_consent="y" if ticked else None,
    )
    assert response.status_code == 303

    [record] = network_consents()
    # What was shown and what was chosen, ticked or not (Art. 7(1): demonstrate the consent).
    assert (record.network_id, record.granted, record.confirmed_at) == (asud.id, ticked, None)
    text = record.consent_text
    assert (text.purpose, text.locale, text.version) == (f"network:{asud.id}", "fr", 1)
    with app.test_request_context():
        assert text.text == network_wording(asud.name, "fr")
    assert text.text.startswith(ASUD_NAME)

    run_outbox(app)
    confirm_by_link(
        client, next(link for link in links_in(mailbox.messages[0]) if "/confirm/" in link)
    )
    db.session.expire_all()
    assert network_consents()[0].confirmed_at is not None


def test_the_network_of_the_signers_country_takes_the_consent_without_a_source(
    client, demo, mailbox
):
    jes = network("jes")
    sign(
        client,
        email="bea@example.org",
        country="DE",
        network_consent_for=str(jes.id),
        network_consent="y",
    )
    [record] = network_consents()
    assert (record.network_id, record.granted) == (jes.id, True)


def test_a_forged_network_is_ignored_and_the_signature_still_counts(client, demo, mailbox):
    jes, asud = network("jes"), network("asud")
    umbrella = network("euronpud")
    network("itanpud").is_active = False
    db.session.commit()
    itanpud = network("itanpud")
    forged = [
        ("jes-for-fr@example.org", "FR", None, str(jes.id)),  # not FR's, and did not bring them
        ("asud-via-jes@example.org", "DE", "jes", str(asud.id)),  # not the source, not DE's
        ("umbrella@example.org", "FR", "euronpud", str(umbrella.id)),
        ("inactive@example.org", "IT", "itanpud", str(itanpud.id)),
        ("nobody@example.org", "FR", None, "99999"),
        ("garbage@example.org", "FR", None, "1; DROP TABLE"),
    ]
    for email, country, source, network_id in forged:
        response = sign(
            client,
            email=email,
            country=country,
            source=source,
            network_consent_for=network_id,
            network_consent="y",
        )
        assert response.status_code == 303, email
    assert network_consents() == []
    assert len(db.session.scalars(select(Signature)).all()) == len(forged)


def test_the_box_is_unticked_unless_ticked_and_keeps_its_state_after_an_error(client, demo):
    asud = network("asud")
    response = sign(
        client,
        name="",
        email="ada@example.org",
        country="FR",
        source="asud",
        network_consent_for=str(asud.id),
        network_consent="y",
    )
    assert response.status_code == 422
    box = box_of(response.get_data(as_text=True))
    assert (box["shown"], box["network"], box["ticked"]) == (True, str(asud.id), True)

    # Without a source, the chosen country's network shows again (even without JavaScript),
    # ticked only if it was ticked for that very network.
    for posted, ticked in ((str(asud.id), True), (str(network("jes").id), False)):
        response = sign(
            client,
            name="",
            country="FR",
            network_consent_for=posted,
            network_consent="y",
        )
        box = box_of(response.get_data(as_text=True))
        assert (box["shown"], box["network"], box["ticked"]) == (True, str(asud.id), ticked)
        assert box["label"].startswith(ASUD_NAME)

    # An error with no country chosen: no box yet.
    response = sign(
        client, name="", country="", network_consent_for=str(asud.id), network_consent="y"
    )
    assert response.status_code == 422
    assert box_of(response.get_data(as_text=True))["shown"] is False


def test_wording_is_stored_per_language_and_a_new_name_is_a_new_version(client, demo, mailbox):
    asud = network("asud")
    consent = {"country": "FR", "network_consent_for": str(asud.id), "network_consent": "y"}
    sign(client, lang="en", email="one@example.org", **consent)
    sign(client, lang="en", email="two@example.org", **consent)  # same wording: same version
    sign(client, lang="de", email="drei@example.org", **consent)
    network("asud").name = "ASUD France"  # `asud` was detached by the requests' teardown
    db.session.commit()
    sign(client, lang="en", email="four@example.org", **consent)

    texts = db.session.execute(
        select(ConsentText.locale, ConsentText.version, ConsentText.text)
        .where(ConsentText.purpose == f"network:{asud.id}")
        .order_by(ConsentText.locale, ConsentText.version)
    ).all()
    assert [(locale, version) for locale, version, _text in texts] == [
        ("de", 1),
        ("en", 1),
        ("en", 2),
    ]
    assert texts[1].text.startswith(ASUD_NAME)
    assert texts[2].text.startswith("ASUD France, a member network")
    by_email = {
        email: (version, network_id)
        for email, version, network_id in db.session.execute(
            select(Signature.email, ConsentText.version, ConsentRecord.network_id)
            .join(ConsentRecord, ConsentRecord.signature_id == Signature.id)
            .join(ConsentText, ConsentText.id == ConsentRecord.consent_text_id)
            .where(ConsentRecord.network_id.is_not(None))
        )
    }
    assert by_email == {
        "one@example.org": (1, asud.id),
        "two@example.org": (1, asud.id),
        "drei@example.org": (1, asud.id),
        "four@example.org": (2, asud.id),
    }


def test_the_network_consent_goes_in_the_one_signing_statement_on_postgresql(client, demo, mailbox):
    """On PostgreSQL the signature, its consents (the network's too) and its event are one
    INSERT statement; the network is checked by one SELECT before it. On SQLite, in the process,
    the same rows come from a few statements."""
    asud = network("asud")
    token = csrf_token(client.get(f"/en/c/{SLUG}").get_data(as_text=True))
    consent = {"country": "FR", "network_consent_for": str(asud.id), "network_consent": "y"}
    sign(client, email="warm-up@example.org", **consent)  # stores the wording
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engines = (db.engine, autocommit(db.engine))
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post(
            f"/en/c/{SLUG}",
            data={"csrf_token": token, "name": "Ada", "email": "one@example.org", **consent},
        )
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 303

    inserts = [s for s in statements if "INSERT" in s.upper()]
    if db.engine.dialect.name == "postgresql":
        assert len(inserts) == 1, inserts
        assert "new_network_consent" in inserts[0]
    signature = db.session.scalar(select(Signature).where(Signature.email == "one@example.org"))
    records = {
        (r.consent_text.purpose, r.granted, r.network_id)
        for r in db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.signature_id == signature.id)
        )
    }
    assert records == {
        ("signature", True, None),
        ("public_name", False, None),
        ("newsletter", False, None),
        (f"network:{asud.id}", True, asud.id),
    }


def test_the_embeddable_form_shows_the_box_for_its_network(app, demo):
    """The embed renders the same form with `consent_network` and signs with its network's code
    (petitions.submission.signature_input(..., source=network.slug))."""
    asud = network("asud")
    with app.test_request_context(
        "/en/embed",
        method="POST",
        data={
            "name": "Ada",
            "email": "ada@example.org",
            "country": "DE",
            "network_consent_for": str(asud.id),
            "network_consent": "y",
        },
    ):
        form = SignatureForm()
        html = render_template(
            "petitions/_signing_form.html",
            form=form,
            form_action="/x",
            csrf_value="token",
            data_use=type("Notice", (), {"points": (), "full": ""})(),
            consent_network=asud,
        )
        data = signature_input(form, "https://example.org/embed", source=asud.slug)
    box = box_of(html)
    assert (box["shown"], box["network"], box["ticked"]) == (True, str(asud.id), True)
    assert 'id="network-offers"' not in html
    assert (data.source, data.network_consent_for, data.network_consent) == ("asud", asud.id, True)

    # A network that may not take the consent (the umbrella, a deactivated one) gets no box.
    umbrella = network("euronpud")
    with app.test_request_context("/en/embed"):
        html = render_template(
            "petitions/_signing_form.html",
            form=SignatureForm(),
            form_action="/x",
            csrf_value="token",
            data_use=type("Notice", (), {"points": (), "full": ""})(),
            consent_network=umbrella,
        )
    assert box_of(html)["shown"] is False


def test_no_network_box_is_recorded_when_none_was_shown(client, demo, mailbox):
    sign(client, email="plain@example.org", country="FR")
    assert network_consents() == []
    assert db.session.scalar(select(Signature.email)) == "plain@example.org"
