"""Sending a mailing into a real SMTP sink: every recipient once, with every header bulk senders
need, in their language, at the allowed rate, through failures."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.mailings import batches, lifecycle
from campaigns.mailings.compose import ComposeError, prepare, problems
from campaigns.mailings.message import delivery_id_from_verp
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing, MailingStatus
from campaigns.mailings.suppression import suppression_of
from campaigns.networks.models import Network
from tests.mailings.conftest import make_mailing
from tests.support import commit_change, start_due_mailings, text_part

NALOXONE = "naloxone-in-every-pocket"


def send_all(mailing: Mailing, limit: int = 1000) -> list[batches.BatchResult]:
    """Run batches until the mailing is done, as the workers' chain of batch tasks does."""
    commit_change(lifecycle.schedule, mailing)
    assert start_due_mailings() == [mailing.id]
    results = []
    for _ in range(limit):
        result = batches.send_batch(mailing.id)
        results.append(result)
        if result.finished or not (result.more or result.released):
            break
    return results


@pytest.fixture
def fast(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 1000)
    monkeypatch.setitem(app.config, "MAILING_BATCH_SIZE", 3)
    return app


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_every_recipient_gets_one_message_with_the_bulk_headers(
    fast, supporter, mailbox, pipelining
):
    mailbox.pipelining = pipelining
    addresses = [f"s{n}@example.org" for n in range(7)]
    for n, address in enumerate(addresses):
        supporter(NALOXONE, address, name=f"Name{n} Surname", locale="fr" if n % 2 else "en")
    mailing = make_mailing()

    send_all(mailing)

    db.session.refresh(mailing)
    assert mailing.status == MailingStatus.SENT
    assert sorted(m["To"] for m in mailbox.messages) == sorted(addresses)
    for message, (envelope_from, _rcpt) in zip(mailbox.messages, mailbox.envelopes, strict=True):
        unsubscribe = message["List-Unsubscribe"]
        assert re.search(r"<https?://[^>]+/(en|fr)/u/[^>]+>", unsubscribe)
        assert "<mailto:" in unsubscribe
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"]
        assert re.fullmatch(r"<[^@>]+@campaigns\.example\.org>", message["Message-ID"])
        assert message["Date"]
        assert message.get_body(preferencelist=("plain",)) is not None
        assert message.get_body(preferencelist=("html",)) is not None
        assert "/u/" in text_part(message)  # a visible unsubscribe link
        delivery = db.session.get(Delivery, delivery_id_from_verp(envelope_from))
        assert delivery.email == message["To"]  # VERP names the right delivery
    statuses = db.session.scalars(select(Delivery.status)).all()
    assert statuses == [DeliveryStatus.SENT] * 7


def test_merge_fields_in_each_language_with_fallbacks(fast, supporter, mailbox):
    asud = db.session.scalar(select(Network).where(Network.slug == "asud"))
    supporter(NALOXONE, "en@example.org", name="Ada Lovelace", locale="en", network=asud)
    supporter(NALOXONE, "fr@example.org", name="   ", locale="fr")
    supporter(NALOXONE, "de@example.org", name="Hans Example", locale="de")  # no German version
    send_all(make_mailing())

    (en,) = mailbox.to("en@example.org")
    (fr,) = mailbox.to("fr@example.org")
    (de,) = mailbox.to("de@example.org")
    assert en["Subject"] == "News for Ada"
    assert "Hello Ada," in text_part(en)
    # Each one's own action link: their language, their network.
    assert f"/en/c/{NALOXONE}?source=asud" in text_part(en)
    assert fr["Subject"] == "Nouvelles pour ami·e"
    assert re.search(rf"/fr/c/{NALOXONE}\s", text_part(fr))
    assert "Bonjour ami·e," in text_part(fr)
    assert de["Subject"] == "News for Hans"  # the default language's version


def test_unknown_merge_fields_are_refused():
    assert problems("Hi {{ last_name }}") == ["Unknown merge field {{ last_name }}."]
    assert problems("Hi {{ first_name") != []
    with pytest.raises(ComposeError):
        prepare("en", "Hi {{ nickname }}", "body")


@pytest.mark.parametrize(
    "evil",
    [
        "Eve\r\nBcc: victim@example.org",
        "Eve\nSubject: spoofed",
        "Eve\rX-Injected: yes",
        "Eve\u2028Bcc: x@example.org",
        "Eve\x0bBcc: x@example.org",
        "<script>alert(1)</script>",
    ],
)
def test_no_merge_value_or_subject_can_add_a_header_or_markup(fast, supporter, mailbox, evil):
    supporter(NALOXONE, "eve@example.org", name=evil)
    mailing = make_mailing(
        versions={"en": ("Hi {{ first_name }} " + evil, "Dear {{ first_name }}")}
    )
    send_all(mailing)
    (message,) = mailbox.messages
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    assert message["Subject"].count("Subject") == 0 or "spoofed" in message["Subject"]
    assert len(message.get_all("Subject")) == 1
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html


def test_one_click_unsubscribe_mid_send_stops_further_mail(app, fast, supporter, mailbox, client):
    for n in range(6):
        supporter(NALOXONE, f"r{n}@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    batches.send_batch(mailing.id)  # the first 3
    first = mailbox.messages[0]
    url = re.search(r"<(https?://[^>]+)>", first["List-Unsubscribe"]).group(1)
    path = re.sub(r"^https?://[^/]+", "", url)

    assert client.get(path).status_code == 200  # GET only asks
    assert suppression_of(first["To"]) is None
    # RFC 8058: a POST with this body, no cookie, no CSRF token.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert suppression_of(first["To"]) is not None

    later = make_mailing()
    send_all(later)
    receivers = [m["To"] for m in mailbox.messages[3:]]
    assert first["To"] not in receivers
    assert len(receivers) == 5


def test_two_beats_start_a_mailing_once(app, supporter):
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    started: list[list[int]] = []

    def beat() -> None:
        with app.app_context():
            started.append(start_due_mailings())

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted([mailing_id for ids in started for mailing_id in ids]) == [mailing.id]


def test_a_server_answering_421_means_backoff_then_delivery(fast, supporter, mailbox):
    for n in range(3):
        supporter(NALOXONE, f"g{n}@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    mailbox.reply = "421 4.3.2 Service not available, try later"
    with pytest.raises(batches.RetryLater) as later:
        batches.send_batch(mailing.id)
    assert later.value.countdown >= 5
    assert db.session.scalars(select(Delivery.status)).all() == [DeliveryStatus.QUEUED] * 3

    mailbox.reply = None
    send_rest = batches.send_batch(mailing.id)
    assert send_rest.sent == 3
    assert len(mailbox.messages) == 3


def test_a_greylisted_recipient_waits_while_the_others_go_on(app, fast, supporter, mailbox):
    app.config["MAILING_RETRY_DELAY"] = 60
    for name in ("a", "grey", "b"):
        supporter(NALOXONE, f"{name}@example.org")
    mailbox.rcpt_replies["grey@example.org"] = "450 4.2.0 Greylisted, try again in 5 minutes"
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()

    first = batches.send_batch(mailing.id)
    assert (first.sent, first.released) == (2, 1)
    grey = db.session.scalars(select(Delivery).where(Delivery.email == "grey@example.org")).one()
    assert grey.status == DeliveryStatus.QUEUED
    assert grey.error.startswith("450")
    assert timedelta(seconds=55) < grey.retry_at - utcnow() <= timedelta(seconds=60)
    # Not tried again at once: the chain of batches waits until it is due.
    with pytest.raises(batches.RetryLater) as later:
        batches.send_batch(mailing.id)
    assert 55 < later.value.countdown <= 60

    # Time passes; greylisted again, it waits twice as long.
    db.session.execute(update(Delivery).values(retry_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert batches.send_batch(mailing.id).released == 1
    db.session.refresh(grey)
    assert timedelta(seconds=115) < grey.retry_at - utcnow() <= timedelta(seconds=120)

    # The server takes it now.
    del mailbox.rcpt_replies["grey@example.org"]
    db.session.execute(update(Delivery).values(retry_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert batches.send_batch(mailing.id).sent == 1
    batches.send_batch(mailing.id)
    db.session.refresh(mailing)
    assert mailing.status == MailingStatus.SENT
    assert sorted(m["To"] for m in mailbox.messages) == [
        "a@example.org",
        "b@example.org",
        "grey@example.org",
    ]


def test_5xx_is_recorded_as_failed_and_never_retried(fast, supporter, mailbox):
    supporter(NALOXONE, "nobody@example.org")
    mailing = make_mailing()
    mailbox.reply = "550 5.1.1 No such user"
    send_all(mailing)
    delivery = db.session.scalars(select(Delivery)).one()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error.startswith("550")
    assert delivery.attempts == 1
    db.session.refresh(mailing)
    assert mailing.status == MailingStatus.SENT


# What the mail server may see of a rate of 20 per second, measured by its own clock: one message
# more in a second, as a window can hold both of its ends, and one more again for the timing of
# a loaded machine (a message may arrive up to a spacing late before the sender gives up its
# start time, and a slow round trip to Redis shifts a whole reservation of start times). A
# burst is far above it: a stall caught up gives 25.
MOST_IN_A_SECOND = 22


def busiest_second(arrivals: list[float]) -> int:
    """The most messages that arrived within one second."""
    return max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)


def test_the_rate_per_second_is_never_exceeded(app, supporter, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 20)
    monkeypatch.setitem(app.config, "MAILING_BATCH_SIZE", 50)
    for n in range(45):
        supporter(NALOXONE, f"rate{n}@example.org")
    send_all(make_mailing())
    arrivals = sorted(mailbox.arrivals)
    assert len(arrivals) == 45
    assert busiest_second(arrivals) <= MOST_IN_A_SECOND
    # On average too: 44 spacings take 2.2 s at 20 per second, 2 s at MOST_IN_A_SECOND (a
    # loaded machine only makes them longer).
    assert arrivals[-1] - arrivals[0] >= 44 / MOST_IN_A_SECOND


def test_the_rate_holds_after_a_slow_reply(app, supporter, mailbox, monkeypatch):
    """A stall must not be caught up in a burst of the messages whose start times passed."""
    from campaigns.core import smtp as bulk_smtp

    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 20)
    monkeypatch.setitem(app.config, "MAILING_BATCH_SIZE", 50)
    for n in range(30):
        supporter(NALOXONE, f"slow{n}@example.org")
    real_send = bulk_smtp.BulkConnection.send

    def stall_once(self, sender, recipient, data, hand_over):
        if recipient == "slow5@example.org":
            time.sleep(1.2)
        return real_send(self, sender, recipient, data, hand_over)

    monkeypatch.setattr(bulk_smtp.BulkConnection, "send", stall_once)
    send_all(make_mailing())
    arrivals = sorted(mailbox.arrivals)
    assert len(arrivals) == 30
    assert busiest_second(arrivals) <= MOST_IN_A_SECOND


def test_the_hourly_limit_holds_the_rest_for_later(app, fast, supporter, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "MAILING_RATE_PER_HOUR", 2)
    for n in range(3):
        supporter(NALOXONE, f"h{n}@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    with pytest.raises(batches.RetryLater) as later:
        batches.send_batch(mailing.id)
    assert len(mailbox.messages) == 2
    assert 0 < later.value.countdown <= 60  # asks again at the next minute
    statuses = sorted(db.session.scalars(select(Delivery.status)).all())
    assert statuses == sorted([DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.QUEUED])
    # The limit holds for all mailings together.
    with pytest.raises(batches.RetryLater):
        batches.send_batch(mailing.id)
    assert len(mailbox.messages) == 2


def test_start_times_given_up_after_a_slow_reply_do_not_count_towards_the_hour(
    app, fast, supporter, mailbox, monkeypatch
):
    """The first reply is slower than the spacing, so the second start time is missed and
    reserved again: the hour still allows two messages, not one."""
    from campaigns.core import smtp as bulk_smtp

    monkeypatch.setitem(app.config, "MAILING_RATE_PER_HOUR", 2)
    for n in range(3):
        supporter(NALOXONE, f"late{n}@example.org")
    real_send = bulk_smtp.BulkConnection.send
    slow_replies = []

    def slow_first_reply(self, sender, recipient, data, hand_over):
        if not slow_replies:
            slow_replies.append(recipient)
            time.sleep(0.1)  # 100 times the spacing of 1,000 per second
        return real_send(self, sender, recipient, data, hand_over)

    monkeypatch.setattr(bulk_smtp.BulkConnection, "send", slow_first_reply)
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    with pytest.raises(batches.RetryLater):
        batches.send_batch(mailing.id)
    assert slow_replies
    assert len(mailbox.messages) == 2


def test_pause_and_resume_and_cancel(fast, supporter, mailbox):
    for n in range(6):
        supporter(NALOXONE, f"p{n}@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    batches.send_batch(mailing.id)
    assert commit_change(lifecycle.pause, mailing)
    assert batches.send_batch(mailing.id).sent == 0
    assert len(mailbox.messages) == 3
    assert commit_change(lifecycle.resume, mailing)
    batches.send_batch(mailing.id)
    assert len(mailbox.messages) == 6
    assert commit_change(lifecycle.cancel, mailing)
    assert not commit_change(lifecycle.resume, mailing)


def test_an_unsubscribe_during_a_batch_stops_the_message_not_yet_handed_over(
    app, fast, supporter, mailbox, client, monkeypatch
):
    """The message is already on the wire (all but the final dot) when the POST arrives."""
    from campaigns.core import smtp as bulk_smtp

    supporter(NALOXONE, "first@example.org")
    supporter(NALOXONE, "changed-mind@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    real_send = bulk_smtp.BulkConnection.send

    def send_with_unsubscribe_in_flight(self, sender, recipient, data, hand_over):
        def commit_after_unsubscribe(write_dot) -> bool:
            if recipient == "changed-mind@example.org":
                delivery_id = delivery_id_from_verp(sender)
                from campaigns.mailings.message import unsubscribe_token

                token = unsubscribe_token(delivery_id)
                assert client.post(f"/en/u/{token}").status_code == 200
            return hand_over(write_dot)

        return real_send(self, sender, recipient, data, commit_after_unsubscribe)

    monkeypatch.setattr(bulk_smtp.BulkConnection, "send", send_with_unsubscribe_in_flight)
    result = batches.send_batch(mailing.id)

    assert [m["To"] for m in mailbox.messages] == ["first@example.org"]
    assert result.sent == 1
    assert result.skipped == 1
    statuses = dict(db.session.execute(select(Delivery.email, Delivery.status)).all())
    assert statuses["changed-mind@example.org"] == DeliveryStatus.SKIPPED


def test_fuzzed_names_and_subjects_never_create_a_header(fast, supporter, mailbox):
    """Random mixes of line breaks of every kind (CR, LF, CRLF, NEL, LS, PS, VT, FF), colons and
    header-like words in the name a supporter typed and in the subject staff wrote."""
    import random

    rng = random.Random(20261128)
    pieces = [
        "\r",
        "\n",
        "\r\n",
        "\x85",
        "\u2028",
        "\u2029",
        "\x0b",
        "\x0c",
        ":",
        " ",
        "Bcc",
        "X-Evil",
        "Subject",
        "é",
        "<",
        ">",
        "a",
    ]
    expected = None
    for n in range(40):
        name = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) or "a"
        supporter(NALOXONE, f"fuzz{n}@example.org", name=f"Fuzz{name}")
    subject = "News " + "".join(rng.choice(pieces) for _ in range(30)) + " {{ first_name }}"
    send_all(make_mailing(versions={"en": (subject, "Hello {{ first_name }}")}))

    assert len(mailbox.messages) == 40
    for message in mailbox.messages:
        names = [key.lower() for key in message]
        if expected is None:
            expected = names
        assert names == expected  # the same headers, in the same order, for everyone
        assert "bcc" not in names
        assert "x-evil" not in names
        assert len(message.get_all("Subject")) == 1


def test_an_address_that_needs_smtputf8_fails_alone(fast, supporter, mailbox):
    supporter(NALOXONE, "jös@exämple.de")
    supporter(NALOXONE, "plain@example.org")
    mailing = make_mailing()
    send_all(mailing)
    statuses = dict(db.session.execute(select(Delivery.email, Delivery.status)).all())
    assert statuses == {
        "jös@exämple.de": DeliveryStatus.FAILED,
        "plain@example.org": DeliveryStatus.SENT,
    }
    assert [m["To"] for m in mailbox.messages] == ["plain@example.org"]
    db.session.refresh(mailing)
    assert mailing.status == MailingStatus.SENT


def act_before_the_final_dot(app, monkeypatch, recipient: str, action) -> list[str]:
    """Run `action()` the first time the message to `recipient` is on the wire with all but its
    final dot. Returns the recipients whose messages went on the wire, in order."""
    from campaigns.core import smtp as bulk_smtp

    real_send = bulk_smtp.BulkConnection.send
    transmitted: list[str] = []

    def send(self, sender, to, data, hand_over):
        transmitted.append(to)

        def act_then_commit(write_dot) -> bool:
            if to == recipient and transmitted.count(to) == 1:
                with app.app_context():
                    action()
            return hand_over(write_dot)

        return real_send(self, sender, to, data, act_then_commit)

    monkeypatch.setattr(bulk_smtp.BulkConnection, "send", send)
    monkeypatch.setitem(app.config, "MAILING_BATCH_SIZE", 10)
    return transmitted


def test_a_cancel_stops_the_batch_within_one_message(app, fast, supporter, mailbox, monkeypatch):
    for n in range(3):
        supporter(NALOXONE, f"c{n}@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    act_before_the_final_dot(
        app,
        monkeypatch,
        "c1@example.org",
        lambda: commit_change(lifecycle.cancel, db.session.get(Mailing, mailing.id)),
    )
    batches.send_batch(mailing.id)
    assert [m["To"] for m in mailbox.messages] == ["c0@example.org"]


def test_a_pause_mid_batch_hands_the_rest_back_at_once(app, fast, supporter, mailbox, monkeypatch):
    for n in range(5):
        supporter(NALOXONE, f"pz{n}@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    transmitted = act_before_the_final_dot(
        app,
        monkeypatch,
        "pz1@example.org",
        lambda: commit_change(lifecycle.pause, db.session.get(Mailing, mailing.id)),
    )
    result = batches.send_batch(mailing.id)

    assert [m["To"] for m in mailbox.messages] == ["pz0@example.org"]
    # Nothing more went on the wire, and nothing waits for a lease: a resume goes on at once.
    assert transmitted == ["pz0@example.org", "pz1@example.org"]  # pz1 without its final dot
    assert (result.sent, result.skipped, result.released) == (1, 0, 4)
    statuses = db.session.scalars(select(Delivery.status).order_by(Delivery.id)).all()
    assert statuses == [DeliveryStatus.SENT] + [DeliveryStatus.QUEUED] * 4

    assert commit_change(lifecycle.resume, mailing)
    batches.send_batch(mailing.id)
    assert len(mailbox.messages) == 5


@pytest.mark.parametrize(
    "address",
    ["plain@example.org", "x@example.org\r\nRCPT TO:<evil@example.net>", "a b@example.org", "<>"],
)
def test_no_address_can_add_an_smtp_command(address):
    from campaigns.core.smtp import _angle

    framed = _angle(address)
    assert "\r" not in framed
    assert "\n" not in framed
    assert framed.startswith("<")
    assert framed.endswith(">")
    if address == "plain@example.org":
        assert framed == "<plain@example.org>"
