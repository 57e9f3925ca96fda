"""Every email to a supporter keeps the promise of the consent texts: its link opens the
supporter's preferences page, which lists what the mail was about. Each mail is made by its real
handler (or the mailing's sender) and read from the SMTP sink."""

from __future__ import annotations

import re

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.lobbying.models import Letter
from campaigns.mailings import batches, lifecycle
from campaigns.mailings.message import unsubscribe_token
from campaigns.mailings.models import Delivery
from campaigns.mailings.suppression import suppression_of
from tests.lobbying.test_letter_journey import confirm as confirm_letter
from tests.lobbying.test_letter_journey import write
from tests.mailings.conftest import make_mailing
from tests.petitions.test_signing import confirmation_links
from tests.privacy.helpers import NALOXONE, headings, preferences_link, press, visible
from tests.support import (
    commit_change,
    confirm_by_link,
    run_outbox,
    sign,
    start_due_mailings,
    text_part,
)

LETTER_TITLE = "End the war on people who use drugs"


def test_both_petition_mails_link_to_the_page_of_the_signers_address(
    app, client, demo, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "CONFIRMATION_RESEND_INTERVAL", 0)  # each signing mails
    sign(client, email="pia@example.org")
    run_outbox(app)
    (confirmation,) = mailbox.messages
    link = preferences_link(confirmation)
    assert link.startswith("/en/preferences/")
    assert "Pia" not in text_part(confirmation)  # not greeted by name: the address is unconfirmed

    page = client.get(link)
    assert page.status_code == 200
    assert headings(page.get_data(as_text=True)) == ["Naloxone in every pocket"]
    assert "not confirmed yet" in visible(page.get_data(as_text=True))
    assert "p…@example.org" in visible(page.get_data(as_text=True))

    confirm_by_link(client, confirmation_links(confirmation)[0])
    mailbox.clear()
    sign(client, email="PIA@example.org ")  # signs again: the "already signed" mail
    run_outbox(app)
    (already,) = mailbox.messages
    assert "already signed" in already["Subject"]
    page = client.get(preferences_link(already)).get_data(as_text=True)
    assert headings(page) == ["Naloxone in every pocket"]
    assert "Your signature counts." in visible(page)


def test_the_three_letter_mails_link_to_the_page_of_the_writers_address(
    app, client, action, mailbox, office_clock, monkeypatch
):
    monkeypatch.setitem(app.config, "CONFIRMATION_RESEND_INTERVAL", 0)  # each writing mails
    write(client, email="lea@example.org")
    run_outbox(app)
    (confirmation,) = mailbox.messages
    assert "Lea" not in text_part(confirmation)
    page = client.get(preferences_link(confirmation)).get_data(as_text=True)
    assert headings(page) == [LETTER_TITLE]
    assert "nothing is sent before you confirm it" in visible(page)

    mailbox.clear()
    confirm_letter(client, confirmation)
    run_outbox(app)
    (receipt,) = mailbox.messages
    assert "on its way" in receipt["Subject"]
    page = client.get(preferences_link(receipt)).get_data(as_text=True)
    assert headings(page) == [LETTER_TITLE]
    assert "3 copies still to go." in visible(page)

    mailbox.clear()
    write(client, email="lea@example.org")
    run_outbox(app)
    (already,) = mailbox.messages
    assert "already written" in already["Subject"]
    assert client.get(preferences_link(already)).status_code == 200


def test_a_mailing_links_to_the_page_and_keeps_its_one_click_unsubscribe(
    app, client, supporter, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 1000)
    supporter(NALOXONE, "max@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    batches.send_batch(mailing.id)
    (message,) = mailbox.to("max@example.org")

    assert re.search(r"<https?://[^>]+/en/u/[^>]+>", message["List-Unsubscribe"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/en/u/" in text_part(message)
    page = client.get(preferences_link(message)).get_data(as_text=True)
    assert headings(page) == ["Naloxone in every pocket"]
    assert "You receive campaign news" in visible(page)
    # Unsubscribing there counts for this mailing, as the one-click link does.
    press(client, preferences_link(message), "newsletter", "off")
    db.session.expire_all()
    assert suppression_of("max@example.org").mailing_id == mailing.id


def test_the_links_of_mailings_sent_before_the_page_still_open_it(app, client, supporter):
    """Those mails carried the unsubscribe token at /<lang>/preferences/<token>, and the
    unsubscribe pages link there with it. That token sits in every bulk mail's List-Unsubscribe
    header, read by mail providers and link scanners: it opens the newsletter choice only."""
    supporter(NALOXONE, "old@example.org")
    mailing = make_mailing()
    db.session.add(Delivery(mailing_id=mailing.id, email="old@example.org", locale="en"))
    db.session.commit()
    delivery = db.session.scalar(select(Delivery))
    token = unsubscribe_token(delivery.id)

    page = client.get(f"/en/preferences/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert headings(html, level=1) == ["Your email preferences"]
    assert headings(html, level=2) == ["Campaign news by email"]
    assert headings(html) == []  # no signature, letter or network listed
    assert "You receive campaign news" in visible(html)
    assert "open from the preferences link in our emails" in visible(html)
    assert "Naloxone" not in html
    assert "o…@example.org" not in html
    assert page.headers["Cache-Control"] == "no-store"
    # The unsubscribe pages lead to the same newsletter choice, and so does the address they
    # linked to before.
    for unsubscribe in (client.get(f"/en/u/{token}"), client.post(f"/en/u/{token}")):
        onward = re.search(r'href="(/en/preferences/[^"]+)"', unsubscribe.get_data(as_text=True))
        assert onward.group(1) == f"/en/preferences/{token}"
    assert client.get(f"/en/u/{token}/preferences").location == f"/en/preferences/{token}"

    # The newsletter choice itself still works from there, and counts for the mailing.
    on = press(client, f"/en/preferences/{token}", "newsletter", "on")
    assert "Done: you receive campaign news again." in visible(on.get_data(as_text=True))
    db.session.expire_all()
    assert suppression_of("old@example.org") is None
    off = press(client, f"/en/preferences/{token}", "newsletter", "off")
    assert "Done: we send you no more campaign news." in visible(off.get_data(as_text=True))
    db.session.expire_all()
    assert suppression_of("old@example.org").mailing_id == mailing.id


def test_a_letter_link_opens_the_page_in_the_letters_language(
    app, client, action, mailbox, office_clock
):
    write(client, lang="fr", email="zoe@example.org")
    run_outbox(app)
    link = preferences_link(mailbox.messages[0])
    assert link.startswith("/fr/preferences/")
    page = client.get(link).get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert headings(page) == ["Arrêtons la guerre contre les usagers de drogues"]
    assert db.session.scalar(select(Letter.email)) == "zoe@example.org"
