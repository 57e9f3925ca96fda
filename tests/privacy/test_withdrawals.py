"""Each withdrawal the preferences page offers, pressed as a supporter would: it does what it says,
says what it did, and touches nothing of another address's."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.lobbying.models import Letter, LetterDelivery, LetterDeliveryStatus, LetterStatus
from campaigns.mailings.models import SuppressionReason
from campaigns.mailings.suppression import suppress, suppression_of
from campaigns.petitions.models import ConsentRecord, Signature, SignatureStatus
from campaigns.petitions.services import recent_public_signers
from tests.mailings.conftest import add_supporter
from tests.petitions.test_signing import confirmation_links, count_on_page
from tests.privacy.helpers import (
    CHECKING,
    NALOXONE,
    give_network_consent,
    headings,
    network,
    preferences_link,
    press,
    visible,
)
from tests.privacy.test_preferences_page import lobbying_letter, page_of
from tests.support import confirm_by_link, run_outbox, sign


def test_withdrawing_a_signature_erases_it_and_takes_it_off_the_count(app, client, demo, mailbox):
    sign(client, email="ann@example.org", name="Ann Other", show_name="y", newsletter="y")
    run_outbox(app)
    (mail,) = mailbox.messages
    confirm_by_link(client, confirmation_links(mail)[0])
    run_outbox(app)
    assert count_on_page(client) == 1
    signature = db.session.scalar(select(Signature))
    give_network_consent(signature, network("alpha", "Alpha Network"))

    done = press(client, preferences_link(mail), "withdraw_signature", signature.id)
    assert done.status_code == 200
    text = visible(done.get_data(as_text=True))
    assert "Your signature on “Naloxone in every pocket” is withdrawn." in text
    assert "We hold nothing any more for a…@example.org" in text

    db.session.expire_all()
    signature = db.session.get(Signature, signature.id)
    assert signature.status == SignatureStatus.REJECTED
    assert (signature.email, signature.name, signature.show_name) == (None, None, False)
    # Its consents go with it: no network's list shows it, whatever else it reads.
    records = db.session.scalars(select(ConsentRecord).where(ConsentRecord.granted)).all()
    assert records
    assert all(r.withdrawn_at is not None for r in records)
    run_outbox(app)  # signature.rejected: the counters
    assert count_on_page(client) == 0
    # The mail's link now knows nobody: the address is erased.
    again = client.get(preferences_link(mail)).get_data(as_text=True)
    assert "What this link was about has been withdrawn" in visible(again)
    assert "a…@example.org" not in again


def test_an_unconfirmed_signature_is_removed_in_words_that_fit(app, client, supporter):
    signature = add_supporter(NALOXONE, "bob@example.org", confirmed=False)
    done = press(
        client, page_of(client, signature).request.path, "withdraw_signature", signature.id
    )
    assert "Your unconfirmed signature on “Naloxone in every pocket” is removed" in visible(
        done.get_data(as_text=True)
    )
    db.session.expire_all()
    assert db.session.get(Signature, signature.id).email is None


def test_the_page_goes_on_with_what_is_left_after_withdrawing_what_its_link_named(
    app, client, supporter
):
    first = add_supporter(NALOXONE, "cy@example.org")
    second = add_supporter(CHECKING, "cy@example.org")
    link = page_of(client, first).request.path

    after_first = press(client, link, "withdraw_signature", first.id)
    html = after_first.get_data(as_text=True)
    assert headings(html) == ["Test, don't guess: drug checking in the European Drug Alert System"]
    assert f'action="{link}"' not in html  # the forms moved on to a record that is still there
    # ...so the same page withdraws the other signature too.
    form_action = html.split('name="withdraw_signature"')[0].rsplit('action="', 1)[1]
    path = form_action.split('"', 1)[0]
    after_second = press(client, path, "withdraw_signature", second.id)
    assert "We hold nothing any more for c…@example.org" in visible(
        after_second.get_data(as_text=True)
    )


def test_withdrawing_a_network_consent_takes_the_supporter_off_that_networks_list(
    app, client, supporter
):
    from campaigns.exports.shared import count_shared  # the coordinator's list

    alpha, beta = network("alpha", "Alpha Network"), network("beta", "Beta Network")
    mine = [add_supporter(NALOXONE, "dee@example.org"), add_supporter(CHECKING, "dee@example.org")]
    theirs = add_supporter(NALOXONE, "eve@example.org")
    withdrawn = [give_network_consent(s, alpha) for s in mine]
    kept = [give_network_consent(mine[0], beta), give_network_consent(theirs, alpha)]
    assert count_shared(alpha.id) == 3

    link = page_of(client, mine[0]).request.path
    done = press(client, link, "withdraw_network", alpha.id)
    html = done.get_data(as_text=True)
    assert "Alpha Network may no longer contact you" in visible(html)
    assert headings(html)[-1] == "Beta Network"  # still listed, with its own button
    assert f'name="withdraw_network" value="{alpha.id}"' not in html

    db.session.expire_all()
    assert all(db.session.get(ConsentRecord, i).withdrawn_at is not None for i in withdrawn)
    assert all(db.session.get(ConsentRecord, i).withdrawn_at is None for i in kept)
    assert count_shared(alpha.id) == 1  # eve's only
    assert count_shared(beta.id) == 1
    # The signatures themselves still count.
    assert {s.status for s in db.session.scalars(select(Signature))} == {SignatureStatus.CONFIRMED}


def test_the_newsletter_goes_off_and_on_again_through_the_suppression_list(app, client, supporter):
    signature = add_supporter(NALOXONE, "fay@example.org")
    link = page_of(client, signature).request.path
    assert "You receive campaign news" in visible(client.get(link).get_data(as_text=True))

    off = press(client, link, "newsletter", "off")
    assert "Done: we send you no more campaign news." in visible(off.get_data(as_text=True))
    assert "You are unsubscribed" in visible(off.get_data(as_text=True))
    db.session.expire_all()
    assert suppression_of("fay@example.org").reason == SuppressionReason.UNSUBSCRIBED

    on = press(client, link, "newsletter", "on")
    assert "Done: you receive campaign news again." in visible(on.get_data(as_text=True))
    db.session.expire_all()
    assert suppression_of("fay@example.org") is None


def test_no_news_is_offered_to_an_address_that_never_asked_or_that_bounced(app, client, supporter):
    quiet = add_supporter(NALOXONE, "gil@example.org", newsletter=False)
    text = visible(page_of(client, quiet).get_data(as_text=True))
    assert "You did not ask for campaign news" in text
    assert 'name="newsletter"' not in page_of(client, quiet).get_data(as_text=True)

    bounced = add_supporter(NALOXONE, "hub@example.org")
    suppress("hub@example.org", SuppressionReason.BOUNCED)
    db.session.commit()
    html = page_of(client, bounced).get_data(as_text=True)
    assert "could not be delivered" in visible(html)
    assert 'name="newsletter"' not in html


def test_hiding_the_name_takes_it_off_the_petition_page(app, client, demo, mailbox):
    sign(client, email="ida@example.org", name="Ida Public", show_name="y")
    run_outbox(app)
    (mail,) = mailbox.messages
    confirm_by_link(client, confirmation_links(mail)[0])
    signature = db.session.scalar(select(Signature))
    assert recent_public_signers(signature.petition_id) == [("Ida Public", "DE")]

    done = press(client, preferences_link(mail), "hide_name", signature.id)
    html = done.get_data(as_text=True)
    assert "Your name is no longer shown on the page of “Naloxone in every pocket”." in visible(
        html
    )
    assert 'name="hide_name"' not in html
    db.session.expire_all()
    assert recent_public_signers(signature.petition_id) == []
    public_name = [r for r in db.session.get(Signature, signature.id).consents if r.granted]
    assert [r.consent_text.purpose for r in public_name if r.withdrawn_at] == ["public_name"]
    assert db.session.get(Signature, signature.id).status == SignatureStatus.CONFIRMED


def test_withdrawing_a_letter_stops_what_has_not_gone_and_says_what_had(
    app, client, action, mailbox, office_clock
):
    letter = lobbying_letter(client, "jo@example.org")
    run_outbox(app)  # schedules its three deliveries
    deliveries = db.session.scalars(select(LetterDelivery).order_by(LetterDelivery.id)).all()
    assert len(deliveries) == 3
    deliveries[0].status = LetterDeliveryStatus.SENT
    db.session.commit()

    link = preferences_link(mailbox.messages[-1])  # the receipt's
    page = client.get(link).get_data(as_text=True)
    assert "1 copy delivered. 2 copies still to go." in visible(page)
    assert "Letters already delivered cannot be called back." in visible(page)
    done = press(client, link, "withdraw_letter", letter.id)
    text = visible(done.get_data(as_text=True))
    assert "Your letter for “End the war on people who use drugs” is withdrawn" in text
    assert "2 letters that had not gone yet will not be sent." in text
    assert "1 letter was delivered before: it cannot be called back." in text

    db.session.expire_all()
    letter = db.session.get(Letter, letter.id)
    assert (letter.status, letter.email, letter.name) == (LetterStatus.REJECTED, None, None)
    assert [d.status for d in letter.deliveries] == [
        LetterDeliveryStatus.SENT,
        LetterDeliveryStatus.CANCELLED,
        LetterDeliveryStatus.CANCELLED,
    ]


def test_ids_of_another_address_or_withdrawn_already_change_nothing(app, client, demo, action):
    mine = add_supporter(NALOXONE, "kim@example.org")
    other = add_supporter(NALOXONE, "lou@example.org")
    other.show_name = True
    db.session.commit()
    alpha = network("alpha", "Alpha Network")
    theirs = give_network_consent(other, alpha)
    their_letter = lobbying_letter(client, "lou@example.org")
    path = page_of(client, mine).request.path
    page = client.get(path).get_data(as_text=True)

    from tests.support import csrf_token

    token = csrf_token(page)
    for field, value in (
        ("withdraw_signature", other.id),
        ("hide_name", other.id),
        ("withdraw_letter", their_letter.id),
        ("withdraw_network", alpha.id),
        ("withdraw_signature", 999_999),
    ):
        answer = client.post(path, data={"csrf_token": token, field: value})
        assert answer.status_code == 200
        assert "Nothing changed: that was withdrawn already." in visible(
            answer.get_data(as_text=True)
        )
        assert "l…@example.org" not in answer.get_data(as_text=True)

    db.session.expire_all()
    other = db.session.get(Signature, other.id)
    assert (other.status, other.email, other.show_name) == (
        SignatureStatus.CONFIRMED,
        "lou@example.org",
        True,
    )
    assert db.session.get(ConsentRecord, theirs).withdrawn_at is None
    assert db.session.get(Letter, their_letter.id).status == LetterStatus.CONFIRMED
