"""A withdrawal on the preferences page records, in its own transaction, that each member network
which could read the address must be told (`network_consent.withdrawn`): withdrawn by the
supporter, or erased with the signature; and nothing for a network that never could read it, or
still can through another consent."""

from __future__ import annotations

from sqlalchemy import select, update

from campaigns.core.events import Event
from campaigns.extensions import db
from campaigns.petitions.models import ConsentRecord
from tests.mailings.conftest import add_supporter
from tests.privacy.helpers import CHECKING, NALOXONE, give_network_consent, network, press
from tests.privacy.test_preferences_page import page_of


def told() -> list[dict]:
    db.session.rollback()  # what the page committed
    events = db.session.scalars(
        select(Event).where(Event.type == "network_consent.withdrawn").order_by(Event.created_at)
    )
    return [event.payload for event in events]


def test_withdrawing_a_network_consent_tells_that_network_once_with_what_it_needs(
    app, client, supporter
):
    alpha, beta = network("alpha", "Alpha Network"), network("beta", "Beta Network")
    first, second = (
        add_supporter(NALOXONE, "dee@example.org"),
        add_supporter(CHECKING, "dee@example.org"),
    )
    for signature in (first, second):  # two consents to alpha: one person, told once
        give_network_consent(signature, alpha)
    give_network_consent(first, beta)

    press(client, page_of(client, first).request.path, "withdraw_network", alpha.id)

    (payload,) = told()
    assert payload.keys() == {"network_id", "email", "withdrawn_at", "reason"}
    assert (payload["network_id"], payload["email"], payload["reason"]) == (
        alpha.id,
        "dee@example.org",
        "withdrawn",
    )
    withdrawn_at = db.session.scalars(
        select(ConsentRecord.withdrawn_at).where(ConsentRecord.network_id == alpha.id)
    ).all()
    assert {moment.isoformat() for moment in withdrawn_at} == {payload["withdrawn_at"]}


def test_a_consent_the_network_never_could_read_is_not_told(app, client, supporter):
    alpha = network("alpha", "Alpha Network")
    signature = add_supporter(NALOXONE, "eve@example.org")
    record_id = give_network_consent(signature, alpha)
    # The supporter never confirmed it: it was in no export and no API answer.
    db.session.execute(
        update(ConsentRecord).where(ConsentRecord.id == record_id).values(confirmed_at=None)
    )
    db.session.commit()

    done = press(client, page_of(client, signature).request.path, "withdraw_network", alpha.id)
    assert "Alpha Network may no longer contact you" in done.get_data(as_text=True)
    assert told() == []  # the network would learn an address it never had


def test_withdrawing_a_signature_tells_as_erased_the_networks_that_lose_the_person(
    app, client, supporter
):
    alpha, beta = network("alpha", "Alpha Network"), network("beta", "Beta Network")
    withdrawn = add_supporter(NALOXONE, "fay@example.org")
    kept = add_supporter(CHECKING, "fay@example.org")
    give_network_consent(withdrawn, alpha)
    give_network_consent(withdrawn, beta)
    give_network_consent(kept, beta)  # beta still reads fay through the other signature

    press(client, page_of(client, withdrawn).request.path, "withdraw_signature", withdrawn.id)

    (payload,) = told()
    assert (payload["network_id"], payload["email"], payload["reason"]) == (
        alpha.id,
        "fay@example.org",
        "erased",
    )


def test_an_unconfirmed_signature_withdrawn_tells_nobody(app, client, supporter):
    alpha = network("alpha", "Alpha Network")
    signature = add_supporter(NALOXONE, "gil@example.org", confirmed=False)
    give_network_consent(signature, alpha)  # on a pending signature: no list shows it

    press(client, page_of(client, signature).request.path, "withdraw_signature", signature.id)
    assert told() == []


def test_a_withdrawal_rolled_back_tells_nobody(app_ctx, supporter):
    from campaigns.privacy import services

    alpha = network("alpha", "Alpha Network")
    give_network_consent(add_supporter(NALOXONE, "hal@example.org"), alpha)

    assert services.withdraw_network_consent("hal@example.org", alpha.id) == "Alpha Network"
    db.session.rollback()
    assert told() == []
    assert services.withdraw_network_consent("hal@example.org", alpha.id) == "Alpha Network"
    db.session.commit()
    assert [p["email"] for p in told()] == ["hal@example.org"]


def test_it_wasnt_me_on_a_confirmed_signature_tells_the_networks_as_erased(app, client, supporter):
    from campaigns.petitions.services import make_token
    from tests.support import csrf_token

    alpha = network("alpha", "Alpha Network")
    signature = add_supporter(NALOXONE, "ivy@example.org")
    give_network_consent(signature, alpha)

    # The link in the confirmation mail, pressed after confirming: the address is erased.
    url = f"/en/not-me/{make_token(signature.id, 'reject')}"
    page = client.get(url)
    assert (
        client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code
        == 200
    )

    (payload,) = told()
    assert (payload["network_id"], payload["email"], payload["reason"]) == (
        alpha.id,
        "ivy@example.org",
        "erased",
    )
