"""A returning signer's "<network> may contact me": someone signs again with an address that
signed before and ticks the box this time. The choice is kept, and counts only once the owner of
the address confirms it by mail: with the signature's own link while it is pending, with a link of
its own (a page with a button) once the signature is confirmed. One live consent per signature and
network, and an unticked box never withdraws an earlier one. The API's record-signature signs
through the same code."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from campaigns.core.mail import render_email
from campaigns.exports.shared import count_people
from campaigns.extensions import db
from campaigns.petitions import returning_consent
from campaigns.petitions.models import ConsentRecord, Signature, SignatureStatus
from campaigns.petitions.services import make_token
from tests.api.signing_support import body, key_for, post
from tests.petitions.test_network_consent import network, network_consents
from tests.petitions.test_signing import confirmation_links
from tests.support import confirm_by_link, csrf_token, links_in, run_outbox, sign, text_part

EMAIL = "ana@example.org"


@pytest.fixture
def resend_at_once(app, monkeypatch):
    """Signing again sends its mail at once (else it waits CONFIRMATION_RESEND_INTERVAL)."""
    monkeypatch.setitem(app.config, "CONFIRMATION_RESEND_INTERVAL", 0)


def sign_with_box(client, ticked: bool, **fields):
    asud = network("asud")
    response = sign(
        client,
        email=EMAIL,
        country="FR",
        source="asud",
        network_consent_for=str(asud.id),
        network_consent="y" if ticked else None,
        **fields,
    )
    assert response.status_code == 303
    return response


def states() -> list[tuple[bool, bool, bool]]:
    """Each network consent as (granted, confirmed, withdrawn), in the order recorded."""
    db.session.expire_all()
    return [
        (r.granted, r.confirmed_at is not None, r.withdrawn_at is not None)
        for r in network_consents()
    ]


def the_signature() -> Signature:
    db.session.expire_all()
    return db.session.scalar(select(Signature).where(Signature.email == EMAIL))


def confirmed_signature(app, client, mailbox, ticked: bool) -> Signature:
    sign_with_box(client, ticked)
    run_outbox(app)
    confirm_by_link(client, confirmation_links(mailbox.to(EMAIL)[-1])[0])
    signature = the_signature()
    assert signature.status == SignatureStatus.CONFIRMED
    return signature


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_a_pending_signer_who_ticks_the_box_again_confirms_it_with_the_signature(
    app, client, demo, mailbox, resend_at_once
):
    sign_with_box(client, ticked=False)
    sign_with_box(client, ticked=True)
    # Recorded, but nothing counts before the address's owner confirms.
    assert states() == [(False, False, False), (True, False, False)]
    assert count_people(network("asud").id) == 0

    run_outbox(app)
    mails = mailbox.to(EMAIL)
    assert len(mails) == 2  # the confirmation, and the same sent again
    confirm_by_link(client, confirmation_links(mails[-1])[0])
    assert states() == [(False, True, False), (True, True, False)]
    assert count_people(network("asud").id) == 1


def test_signing_again_never_records_a_second_live_consent_nor_withdraws_one(
    app, client, demo, mailbox
):
    sign_with_box(client, ticked=True)
    sign_with_box(client, ticked=True)  # moments later: no mail, and no second consent
    sign_with_box(client, ticked=False)  # unticked: the earlier consent stands
    assert states() == [(True, False, False)]

    run_outbox(app)
    confirm_by_link(client, confirmation_links(mailbox.to(EMAIL)[-1])[0])
    app.config["CONFIRMATION_RESEND_INTERVAL"] = 0
    try:
        sign_with_box(client, ticked=True)  # confirmed and standing: nothing to ask for
        sign_with_box(client, ticked=False)
    finally:
        app.config["CONFIRMATION_RESEND_INTERVAL"] = 600
    assert states() == [(True, True, False)]
    assert returning_consent.mail_values(the_signature().id, "en") == {}
    assert count_people(network("asud").id) == 1


def test_a_confirmed_signer_who_ticks_the_box_confirms_it_with_the_button_of_its_own_link(
    app, client, demo, mailbox, resend_at_once
):
    signature = confirmed_signature(app, client, mailbox, ticked=False)
    sign_with_box(client, ticked=True, lang="fr")
    assert states() == [(False, True, False), (True, False, False)]
    assert count_people(network("asud").id) == 0  # typed into a form: not a consent yet

    # The "you have already signed" mail asks for the confirmation, with a link of its own.
    run_outbox(app)
    mail = mailbox.to(EMAIL)[-1]
    assert mail["Subject"].startswith("You have already signed")
    [consent_url] = [link for link in links_in(mail) if "/network-consent/" in link]
    assert f"{network('asud').name} may contact you by email" in text_part(mail)

    # Opening the link changes nothing (mail scanners open links): it shows the words, exactly
    # as the box said them (in French, as the form was), and a button.
    link = path_of(consent_url)
    page = client.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Confirm that ASUD" in html
    assert "réseau membre du Réseau européen" in html  # the stored French wording
    assert states()[-1] == (True, False, False)

    done = client.post(link, data={"csrf_token": csrf_token(html)})
    assert done.status_code == 200
    assert "may now contact you by email about its work" in done.get_data(as_text=True)
    assert states() == [(False, True, False), (True, True, False)]
    assert count_people(network("asud").id) == 1

    # Pressed again, or signed again with the box: the same single consent.
    again = client.post(link, data={"csrf_token": csrf_token(html)})
    assert "may now contact you" in again.get_data(as_text=True)
    sign_with_box(client, ticked=True)
    assert states() == [(False, True, False), (True, True, False)]
    assert returning_consent.mail_values(signature.id, "en") == {}


def test_the_link_confirms_nothing_withdrawn_meanwhile(app, client, demo, mailbox, resend_at_once):
    signature = confirmed_signature(app, client, mailbox, ticked=True)
    # Withdrawn on the preferences page, then ticked again when signing again.
    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.network_id.is_not(None))
        .values(withdrawn_at=signature.confirmed_at)
    )
    db.session.commit()
    sign_with_box(client, ticked=True)
    assert states() == [(True, True, True), (True, False, False)]
    link = path_of(returning_consent.mail_values(signature.id, "en")["consent_url"])
    html = client.get(link).get_data(as_text=True)

    # Withdrawn again before the button is pressed: the page opened before changes nothing.
    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.network_id.is_not(None), ConsentRecord.withdrawn_at.is_(None))
        .values(withdrawn_at=signature.confirmed_at)
    )
    db.session.commit()
    answer = client.post(link, data={"csrf_token": csrf_token(html)})
    assert "Nothing to confirm" in answer.get_data(as_text=True)
    assert states() == [(True, True, True), (True, False, True)]
    assert count_people(network("asud").id) == 0

    # Signing again makes a new consent to confirm; "it wasn't me" then leaves none.
    sign_with_box(client, ticked=True)
    link = path_of(returning_consent.mail_values(signature.id, "en")["consent_url"])
    html = client.get(link).get_data(as_text=True)
    db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id)
        .values(status=SignatureStatus.REJECTED, email=None)
    )
    db.session.commit()
    answer = client.post(link, data={"csrf_token": csrf_token(html)})
    assert "Nothing to confirm" in answer.get_data(as_text=True)
    assert states()[-1] == (True, False, False)


def test_only_a_link_of_its_own_opens_the_page_and_it_expires(
    app, client, demo, mailbox, resend_at_once, monkeypatch
):
    signature = confirmed_signature(app, client, mailbox, ticked=False)
    sign_with_box(client, ticked=True)
    link = path_of(returning_consent.mail_values(signature.id, "en")["consent_url"])
    with app.test_request_context():
        # The signature's own links, even naming the consent's id, open nothing here.
        consent_id = network_consents()[-1].id
        others = [make_token(consent_id, "confirm"), make_token(signature.id, "preferences")]
    for token in [*others, "forged", link.rsplit("/", 1)[1] + "x"]:
        assert client.get(f"/en/network-consent/{token}").status_code == 404, token
    monkeypatch.setitem(app.config, "CONFIRMATION_MAX_AGE", -1)
    assert client.get(link).status_code == 410
    assert states()[-1] == (True, False, False)


def test_the_api_keeps_a_returning_signers_consent_the_same_way(
    app, client, demo, mailbox, resend_at_once
):
    token = key_for("asud")
    unticked = body(email=EMAIL, country="FR")
    unticked["consents"]["network_contact"] = False
    ticked = body(email=EMAIL, country="FR")
    ticked["consents"]["network_contact"] = True
    assert post(client, token, unticked).status_code == 202
    assert post(client, token, ticked).status_code == 202  # pending: kept for its confirmation
    assert post(client, token, unticked).status_code == 202  # never withdraws it
    assert states() == [(False, False, False), (True, False, False)]

    run_outbox(app)
    confirm_by_link(client, confirmation_links(mailbox.to(EMAIL)[-1])[0])
    assert states() == [(False, True, False), (True, True, False)]
    assert post(client, token, ticked).status_code == 202  # confirmed and standing: nothing new
    assert states() == [(False, True, False), (True, True, False)]
    # The same answer as a new address gets: whether an address signed is its owner's business.
    assert post(client, token, body(email="new@example.org", country="FR")).json == (
        post(client, token, ticked).json
    )


def test_the_mail_without_a_consent_to_confirm_says_nothing_of_it(app_ctx):
    with app_ctx.test_request_context():
        mail = render_email(
            "petitions/already_signed",
            "en",
            EMAIL,
            name="Ana",
            title="Naloxone in every pocket",
            petition_url="https://campaigns.example.org/en/c/naloxone-in-every-pocket",
            reject_url="https://campaigns.example.org/en/not-me/TOKEN",
            preferences_url="https://campaigns.example.org/en/preferences/TOKEN",
        )
    assert "may contact you" not in mail.text
    assert "may contact" not in text_part_of(mail.html)


def text_part_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)
