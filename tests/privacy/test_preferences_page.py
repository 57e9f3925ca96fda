"""The preferences page lists what one address holds, and nothing of anyone else's; opening it
changes nothing; a link that is not ours shows a friendly 404."""

from __future__ import annotations

from sqlalchemy import func, select

from campaigns.core.links import SignedLinks
from campaigns.extensions import db
from campaigns.lobbying import services as lobbying
from campaigns.lobbying.models import Letter
from campaigns.mailings.message import unsubscribe_token
from campaigns.mailings.suppression import suppression_of
from campaigns.petitions import services as petitions
from campaigns.petitions.models import ConsentRecord, Signature, SignatureStatus
from tests.lobbying.test_letter_journey import write
from tests.mailings.conftest import add_supporter
from tests.privacy.helpers import (
    CHECKING,
    NALOXONE,
    give_network_consent,
    headings,
    network,
    visible,
)
from tests.privacy.test_mail_links import LETTER_TITLE
from tests.support import csrf_token


def page_of(client, signature: Signature, lang: str = "en"):
    return client.get(f"/{lang}/preferences/{petitions.make_token(signature.id, 'preferences')}")


def test_the_page_lists_that_addresss_signatures_letters_news_and_networks_only(
    app, client, demo, action
):
    ana = add_supporter(NALOXONE, "ana@example.org", name="Ana")
    add_supporter(CHECKING, "ana@example.org", newsletter=False, confirmed=False)
    ben = add_supporter(NALOXONE, "ben@example.org", name="Ben")
    alpha, beta = network("alpha", "Alpha Network"), network("beta", "Beta Network")
    give_network_consent(ana, alpha)
    give_network_consent(ana, beta, granted=False)  # shown, not ticked: nothing to withdraw
    give_network_consent(ben, beta)
    letter = lobbying_letter(client, "ana@example.org")

    html = page_of(client, ana).get_data(as_text=True)
    text = visible(html)
    assert headings(html) == [
        "Test, don't guess: drug checking in the European Drug Alert System",
        "Naloxone in every pocket",
        LETTER_TITLE,
        "Alpha Network",
    ]
    assert "Signed on" in text
    assert "not confirmed yet" in text
    assert "You receive campaign news" in text
    assert "Beta Network" not in text  # Ben's consent, and Ana's unticked box
    assert "ben@" not in html
    assert "b…@" not in html
    assert "Ben" not in text
    assert f'name="withdraw_letter" value="{letter.id}"' in html
    assert f'name="withdraw_network" value="{alpha.id}"' in html
    # Nobody's page is cached or indexed.
    response = page_of(client, ana)
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def lobbying_letter(client, email: str) -> Letter:
    """A confirmed letter of `email` in the letter action, written on its page."""
    assert write(client, email=email).status_code == 303
    letter = db.session.scalar(select(Letter).where(Letter.email == email))
    lobbying.confirm(letter)
    db.session.commit()
    return letter


def test_opening_the_page_changes_nothing(app, client, supporter):
    signature = add_supporter(NALOXONE, "cai@example.org")
    give_network_consent(signature, network("alpha", "Alpha Network"))
    before = stored_state()
    for _ in range(3):  # a mail scanner, a preview, the supporter
        assert page_of(client, signature).status_code == 200
    assert stored_state() == before
    assert suppression_of("cai@example.org") is None


def stored_state() -> tuple:
    db.session.expire_all()
    return (
        db.session.execute(select(Signature.id, Signature.status, Signature.email)).all(),
        db.session.execute(select(ConsentRecord.id, ConsentRecord.withdrawn_at)).all(),
    )


def test_a_link_that_is_not_ours_is_a_friendly_404(app, client, supporter):
    signature = add_supporter(NALOXONE, "dia@example.org")
    good = petitions.make_token(signature.id, "preferences")
    forged = [
        "not-a-token",
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # tampered signature
        petitions.make_token(signature.id, "reject"),  # another link of the same mail
        petitions.make_token(signature.id, "confirm"),
        lobbying.make_token(signature.id, "reject"),
        SignedLinks("signature").make(signature.id, "preferencesx"),
        "x" * 5000,
    ]
    for token in forged:
        response = client.get(f"/en/preferences/{token}")
        assert response.status_code == 404, token
        assert "This link does not work" in response.get_data(as_text=True)
        posted = client.post(f"/en/preferences/{token}", data={"newsletter": "off"})
        assert posted.status_code in (400, 404)
    assert suppression_of("dia@example.org") is None
    # The preferences token itself opens no other page.
    assert client.get(f"/en/not-me/{good}").status_code == 404
    assert client.get(f"/en/u/{good}").status_code == 404


def test_a_form_without_its_csrf_token_or_with_an_unknown_button_changes_nothing(
    app, client, supporter
):
    signature = add_supporter(NALOXONE, "eli@example.org")
    path = page_of(client, signature).request.path
    assert client.post(path, data={"withdraw_signature": signature.id}).status_code == 400
    token = csrf_token(client.get(path).get_data(as_text=True))
    for data in ({}, {"newsletter": "maybe"}, {"withdraw_signature": "x"}, {"delete": "all"}):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Signature, signature.id).status == SignatureStatus.CONFIRMED


def test_the_page_speaks_the_language_of_its_address(app, client, supporter):
    signature = add_supporter(NALOXONE, "fio@example.org", locale="de")
    html = page_of(client, signature, lang="de").get_data(as_text=True)
    assert '<html lang="de">' in html
    assert headings(html) == ["Naloxon in jede Tasche"]
    assert headings(page_of(client, signature, lang="fr").get_data(as_text=True)) == [
        "De la naloxone dans chaque poche"
    ]


def test_a_link_whose_record_is_gone_says_that_nothing_is_left(app, client, supporter):
    signature = add_supporter(NALOXONE, "gus@example.org")
    token = petitions.make_token(signature.id, "preferences")
    petitions.reject(signature)
    db.session.commit()
    text = visible(client.get(f"/en/preferences/{token}").get_data(as_text=True))
    assert "What this link was about has been withdrawn" in text
    assert "gus@" not in text
    assert "g…@" not in text

    # An unconfirmed signature deleted after the retention period: the same.
    pending = add_supporter(NALOXONE, "hal@example.org", confirmed=False)
    token = petitions.make_token(pending.id, "preferences")
    db.session.execute(
        ConsentRecord.__table__.delete().where(ConsentRecord.signature_id == pending.id)
    )
    db.session.execute(Signature.__table__.delete().where(Signature.id == pending.id))
    db.session.commit()
    db.session.remove()  # as a new request starts: without the deleted row in memory
    response = client.get(f"/en/preferences/{token}")
    assert response.status_code == 200
    assert "What this link was about has been withdrawn" in visible(response.get_data(as_text=True))


def test_a_mailing_link_of_an_erased_delivery_leads_to_nothing(app, client, supporter):
    from campaigns.mailings.models import Delivery
    from tests.mailings.conftest import make_mailing

    add_supporter(NALOXONE, "ivy@example.org")
    mailing = make_mailing()
    delivery = Delivery(mailing_id=mailing.id, email="erased:1", locale="en")
    db.session.add(delivery)
    db.session.commit()
    response = client.get(f"/en/preferences/{unsubscribe_token(delivery.id)}")
    assert response.status_code == 200
    assert "What this link was about has been withdrawn" in visible(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1


def test_a_consent_awaiting_confirmation_says_the_network_sees_nothing_yet(client, supporter):
    alpha, beta = network("alpha", "Alpha Network"), network("beta", "Beta Network")
    confirmed = add_supporter(NALOXONE, "kim@example.org")
    pending = add_supporter(CHECKING, "kim@example.org", confirmed=False)
    give_network_consent(confirmed, alpha)
    give_network_consent(pending, beta)  # a signature not confirmed yet: no list shows it

    html = page_of(client, confirmed).get_data(as_text=True)
    assert "Alpha Network may contact you about its work." in html
    assert "Beta Network does not see you yet" in html
    assert "Beta Network may contact you about its work." not in html
