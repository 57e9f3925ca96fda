"""A mailing's unsubscribe token sits in the List-Unsubscribe header of every bulk mail, where mail
providers, security gateways and link scanners read it. On the preferences page it opens the
newsletter choice only: it lists nothing the address signed or wrote, and withdraws nothing. The
preferences token of the same mail keeps opening everything."""

from __future__ import annotations

import re

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.lobbying.models import Letter, LetterStatus
from campaigns.mailings.message import preferences_token, unsubscribe_token
from campaigns.mailings.models import Delivery
from campaigns.mailings.suppression import suppression_of
from campaigns.petitions.models import ConsentRecord, Signature, SignatureStatus
from tests.mailings.conftest import add_supporter, make_mailing
from tests.privacy.helpers import (
    CHECKING,
    NALOXONE,
    give_network_consent,
    headings,
    network,
    press,
    visible,
)
from tests.privacy.test_mail_links import LETTER_TITLE
from tests.privacy.test_preferences_page import lobbying_letter
from tests.support import csrf_token

CHECKING_TITLE = "Test, don't guess: drug checking in the European Drug Alert System"


def delivery_of(signature: Signature) -> Delivery:
    """A delivery of a mailing to the signer, as the audience makes one."""
    delivery = Delivery(
        mailing_id=make_mailing().id,
        email=signature.email,
        locale="en",
        signature_id=signature.id,
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery


def everything_held(client, action) -> tuple[Signature, Letter, int, int]:
    """Ana signed two petitions (her name shown on one), wrote a letter and let a member network
    contact her; returns her first signature, her letter, the network's id and its consent's."""
    first = add_supporter(NALOXONE, "ana@example.org")
    second = add_supporter(CHECKING, "ana@example.org", newsletter=False)
    second.show_name = True
    db.session.commit()
    alpha = network("alpha", "Alpha Network")
    consent = give_network_consent(first, alpha)
    return first, lobbying_letter(client, "ana@example.org"), alpha.id, consent


def test_an_unsubscribe_token_lists_nothing_but_the_newsletter_choice(app, client, demo, action):
    first, _letter, _network, _consent = everything_held(client, action)
    token = unsubscribe_token(delivery_of(first).id)

    html = client.get(f"/en/preferences/{token}").get_data(as_text=True)
    text = visible(html)
    assert headings(html, level=2) == ["Campaign news by email"]
    assert headings(html) == []
    for held in ("Naloxone", "drug checking", LETTER_TITLE, "Alpha Network", "a…@", "ana@"):
        assert held not in html, held
    assert "You receive campaign news" in text
    assert re.findall(r'name="(\w+)" value="', html) == ["newsletter"]
    assert "Your full preferences" in text

    # The mail's own preferences link opens everything, as before.
    full = client.get(f"/en/preferences/{preferences_token(delivery_of(first).id)}")
    assert headings(full.get_data(as_text=True)) == [
        CHECKING_TITLE,
        "Naloxone in every pocket",
        LETTER_TITLE,
        "Alpha Network",
    ]


def test_an_unsubscribe_token_withdraws_no_signature_letter_or_consent(app, client, demo, action):
    first, letter, network_id, consent = everything_held(client, action)
    second = db.session.scalar(select(Signature).where(Signature.id != first.id))
    path = f"/en/preferences/{unsubscribe_token(delivery_of(first).id)}"
    form = csrf_token(client.get(path).get_data(as_text=True))

    for field, value in (
        ("withdraw_signature", first.id),
        ("withdraw_signature", second.id),
        ("hide_name", second.id),
        ("withdraw_letter", letter.id),
        ("withdraw_network", network_id),
        ("withdraw_signature", 999_999),  # answered as the others: nothing told by the id
    ):
        for data in ({field: value}, {field: value, "newsletter": "off"}):
            answer = client.post(path, data={"csrf_token": form, **data})
            assert answer.status_code == 403, data
            html = answer.get_data(as_text=True)
            assert "Nothing changed: this link only turns campaign news off or on." in visible(html)
            for held in ("Naloxone", "drug checking", LETTER_TITLE, "Alpha Network", "a…@"):
                assert held not in html, (data, held)

    db.session.expire_all()
    assert {s.status for s in db.session.scalars(select(Signature))} == {SignatureStatus.CONFIRMED}
    assert db.session.scalar(select(Signature.email).where(Signature.id == first.id))
    assert db.session.get(Signature, second.id).show_name is True
    assert db.session.get(Letter, letter.id).status == LetterStatus.CONFIRMED
    assert db.session.get(ConsentRecord, consent).withdrawn_at is None
    assert suppression_of("ana@example.org") is None


def test_after_a_change_the_newsletter_only_page_keeps_its_own_link(app, client, demo, action):
    """The full page moves its forms on to another record's token once the one its link named is
    erased; a newsletter-only link must never be handed such a token."""
    first, _letter, _network, _consent = everything_held(client, action)
    delivery = delivery_of(first)
    path = f"/en/preferences/{unsubscribe_token(delivery.id)}"

    off = press(client, path, "newsletter", "off")
    assert off.status_code == 200
    html = off.get_data(as_text=True)
    assert set(re.findall(r'action="([^"]+)"', html)) == {path}
    form = csrf_token(html)

    # Her signature is withdrawn with the full link: the delivery's address no longer counts.
    full = f"/en/preferences/{preferences_token(delivery.id)}"
    press(client, full, "withdraw_signature", first.id)
    for answer in (
        client.get(path),
        client.post(path, data={"csrf_token": form, "newsletter": "on"}),
    ):
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200
        assert "What this link was about has been withdrawn" in visible(html)
        assert 'action="' not in html
        assert "drug checking" not in html
    refused = client.post(path, data={"csrf_token": form, "withdraw_signature": first.id + 1})
    assert refused.status_code == 403
    assert 'action="' not in refused.get_data(as_text=True)
