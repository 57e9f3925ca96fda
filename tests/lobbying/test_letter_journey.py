"""A supporter writes to their MEPs: the page shows who receives the letter, nothing goes before
the email is confirmed, and each target then gets one message, in test mode to the test inbox."""

from __future__ import annotations

import re

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.lobbying import delivery
from campaigns.lobbying.models import (
    Letter,
    LetterConsent,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
)
from tests.lobbying.conftest import SLUG
from tests.support import csrf_token, links_in, run_outbox, text_part

PAGE = f"/en/write/{SLUG}"


def write(client, lang: str = "en", **fields):
    page = client.get(f"/{lang}/write/{SLUG}")
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "name": "Ana Sousa",
        "email": "ana@example.org",
        "country": "FR",
        "note": "I lost a friend to an overdose.",
        **fields,
    }
    return client.post(f"/{lang}/write/{SLUG}", data=data)


def confirm(client, mail) -> None:
    link = next(u for u in links_in(mail) if "/letters/confirm/" in u)
    path = link.split("localhost", 1)[1]
    page = client.get(path)
    assert page.status_code == 200
    answer = client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert answer.status_code == 303


def names_in(html: str) -> list[str]:
    return re.findall(r"<li><strong>([^<]+)</strong>", html)


def test_the_page_shows_who_receives_the_letter_for_the_country_chosen(client, action):
    page = client.get(PAGE).get_data(as_text=True)
    assert "Harm reduction in the EU Drugs Strategy" in page
    assert "Choose your country to see who receives your letter." in page

    french = client.get(f"{PAGE}?country=FR").get_data(as_text=True)
    # Chairs first, then vice-chairs and members of LIBE and SANT; at most 3; never one who left.
    assert names_in(french) == ["Marc LEROY", "Sophie MARTIN", "Claire DUPONT"]
    assert "LIBE, chair" in french

    # Norway has no MEPs: the fallback list, said plainly.
    norway = client.get(f"{PAGE}/recipients?country=NO").get_data(as_text=True)
    assert names_in(norway) == ["Director of the EU Drugs Agency"]
    assert "has no representative" in norway


def test_nothing_reaches_a_target_before_the_supporter_confirms(
    app, client, action, mailbox, office_clock
):
    answer = write(client)
    assert answer.status_code == 303
    check = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "ana@example.org" in check

    letter = db.session.scalar(select(Letter))
    assert letter.status == LetterStatus.PENDING
    assert [d.target.name for d in letter.deliveries] == [
        "Marc LEROY",
        "Sophie MARTIN",
        "Claire DUPONT",
    ]
    consent = db.session.scalar(select(LetterConsent))
    assert consent.consent_text.purpose == "letter_delivery"
    assert "they see your name, your country and your email address" in consent.consent_text.text

    run_outbox(app)
    delivery.tick()
    (mail,) = mailbox.messages
    assert mail["To"] == "ana@example.org"
    assert "Marc LEROY" in text_part(mail)  # the confirmation mail says who will receive it
    assert all(d.status == LetterDeliveryStatus.AWAITING_CONFIRMATION for d in letter.deliveries)

    mailbox.clear()
    link = next(u for u in links_in(mail) if "/letters/confirm/" in u)
    before = client.get(link.split("localhost", 1)[1]).get_data(as_text=True)
    assert "Your own words, sent in your name (Ana Sousa):" in before
    assert "I lost a friend to an overdose." in before
    confirm(client, mail)
    thanks = client.get(f"{PAGE}/thanks").get_data(as_text=True)
    assert "Marc LEROY" in thanks
    assert "Claire DUPONT" in thanks

    run_outbox(app)  # schedules the three deliveries and mails the receipt
    (receipt,) = mailbox.messages
    assert "Your letter is on its way" in receipt["Subject"]
    assert "Sophie MARTIN" in text_part(receipt)


def test_each_target_gets_one_letter_in_its_language_from_the_supporter(
    app, client, action, directory, mailbox, office_clock
):
    write(client)
    run_outbox(app)
    confirm(client, mailbox.messages[0])
    run_outbox(app)
    mailbox.clear()

    for _ in range(3):
        delivery.tick()
        office_clock.now = office_clock.now.replace(minute=office_clock.now.minute + 10)
    letters = mailbox.messages
    assert len(letters) == 3  # one per target, never more
    targets = {d.target.email for d in db.session.scalars(select(LetterDelivery))}
    # Test mode (the default): every letter went to the test inbox, naming the real target.
    assert {r for _sender, rcpts in mailbox.envelopes for r in rcpts} == {
        app.config["LOBBYING_TEST_INBOX"]
    }
    assert {m["X-Original-To"] for m in letters} == targets
    marc = next(m for m in letters if m["X-Original-To"] == directory["marc"].email)
    assert marc["Reply-To"] == "Ana Sousa <ana@example.org>"
    assert "Ana Sousa via" in marc["From"]
    assert "campaigns@" in marc["From"]
    body = text_part(marc)
    assert "MODE TEST" in body  # the notice, in the letter's language
    assert directory["marc"].email in body
    # Marc reads French: the French version, addressed to him, with Ana's own words and name.
    assert marc["Subject"] == "La réduction des risques dans la stratégie antidrogue de l'UE"
    assert "Bonjour Marc LEROY," in body
    assert "Marc LEROY" in body
    assert "I lost a friend to an overdose." in body
    assert "Ana Sousa" in body
    assert "France" in body

    # Once sent, nothing sends it again.
    office_clock.now = office_clock.now.replace(hour=office_clock.now.hour + 2)
    delivery.tick()
    assert len(mailbox.messages) == 3


def test_bad_input_is_refused_with_what_was_typed_kept(client, action):
    answer = write(client, name="Ana\r\nBcc: x@example.org", note="x" * 301, country="XX")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Please write this on a single line." in page
    assert "Please use at most 300 characters." in page
    assert "Please choose your country from the list." in page
    assert "ana@example.org" in page
    assert "x" * 301 in page
    assert db.session.scalar(select(Letter)) is None


def test_it_wasnt_me_removes_the_letter_and_sends_nothing(
    app, client, action, mailbox, office_clock
):
    write(client)
    run_outbox(app)
    link = next(u for u in links_in(mailbox.messages[0]) if "/letters/not-me/" in u)
    path = link.split("localhost", 1)[1]
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    letter = db.session.scalar(select(Letter))
    db.session.refresh(letter)
    assert letter.status == LetterStatus.REJECTED
    assert letter.email is None
    assert letter.name is None
    assert letter.note is None
    assert {d.status for d in letter.deliveries} == {LetterDeliveryStatus.CANCELLED}
    mailbox.clear()
    delivery.tick()
    assert mailbox.messages == []


def test_writing_again_sends_no_second_letter(app, client, action, mailbox, office_clock):
    write(client)
    run_outbox(app)
    confirm(client, mailbox.messages[0])
    run_outbox(app)
    app.config["CONFIRMATION_RESEND_INTERVAL"], interval = (
        0,
        app.config["CONFIRMATION_RESEND_INTERVAL"],
    )
    try:
        write(client, name="Ana again", note="Another note")
    finally:
        app.config["CONFIRMATION_RESEND_INTERVAL"] = interval
    run_outbox(app)
    assert "You have already written" in mailbox.messages[-1]["Subject"]
    assert db.session.scalar(select(db.func.count()).select_from(Letter)) == 1
    assert db.session.scalar(select(db.func.count()).select_from(LetterDelivery)) == 3


def test_a_letter_never_confirmed_is_deleted_after_the_retention_period(app, client, action):
    from datetime import timedelta

    from campaigns.lobbying.services import purge_unconfirmed

    write(client)
    write(client, email="bea@example.org")
    bea = db.session.scalar(select(Letter).where(Letter.email == "bea@example.org"))
    bea.created_at -= timedelta(days=31)
    db.session.commit()
    assert purge_unconfirmed(timedelta(days=30)) == 1
    db.session.commit()
    assert db.session.scalars(select(Letter.email)).all() == ["ana@example.org"]
    assert db.session.scalar(select(db.func.count()).select_from(LetterDelivery)) == 3


def test_a_country_nobody_can_receive_a_letter_from_is_said_plainly(client, action):
    action.chosen = []  # no fallback list: a supporter from Norway reaches nobody
    db.session.commit()
    answer = write(client, country="NO")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Nobody can receive this letter from the country you chose." in page
    assert "ana@example.org" in page  # nothing typed is lost
    assert db.session.scalar(select(Letter)) is None
