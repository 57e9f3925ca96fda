"""Signing, the confirmation mail, confirming and "it wasn't me", as a supporter goes through it."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.db import autocommit, commit_unit_of_work, utcnow
from campaigns.core.events import Event
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions import signing
from campaigns.petitions.models import ConsentRecord, Petition, Signature, SignatureStatus
from tests.support import (
    confirm_by_link,
    csrf_token,
    links_in,
    run_outbox,
    scripts_in,
    sign,
    text_part,
)

SLUG = "naloxone-in-every-pocket"


def confirmation_links(message) -> tuple[str, str]:
    links = links_in(message)
    confirm = next(link for link in links if "/confirm/" in link)
    reject = next(link for link in links if "/not-me/" in link)
    return confirm, reject


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def count_on_page(client, lang: str = "en") -> int:
    html = client.get(f"/{lang}/c/{SLUG}").get_data(as_text=True)
    text = re.search(r'<p class="count"><strong>(.*?)</strong>', html).group(1)
    return int(re.sub(r"\D", "", text))


def test_signing_records_a_pending_signature_with_consents_and_an_event(client, demo, mailbox):
    response = sign(
        client, name="Ada Example", email="ada@example.org", country="PT", newsletter="y"
    )

    assert response.status_code == 303
    assert response.location.endswith(f"/en/c/{SLUG}/check-email")
    page = client.get(response.location).get_data(as_text=True)
    assert "Check your email" in page

    signature = db.session.scalar(select(Signature))
    assert signature.status == SignatureStatus.PENDING
    assert (signature.email, signature.name, signature.country) == (
        "ada@example.org",
        "Ada Example",
        "PT",
    )
    assert signature.show_name is False  # off unless ticked
    consents = {c.consent_text.purpose: c for c in db.session.scalars(select(ConsentRecord))}
    assert {p: c.granted for p, c in consents.items()} == {
        "signature": True,
        "public_name": False,
        "newsletter": True,
    }
    assert "never sell or share your email address" in consents["signature"].consent_text.text
    assert all(c.confirmed_at is None for c in consents.values())
    events = db.session.scalars(select(Event)).all()
    assert [(e.type, e.payload) for e in events] == [
        ("signature.created", {"signature_id": signature.id})
    ]
    # The web request sends no mail: a worker does.
    assert mailbox.messages == []


def stored_rows() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Signature, ConsentRecord, Event)
    }


def naloxone_petition() -> Petition:
    return db.session.scalar(select(Petition).join(Campaign).where(Campaign.slug == SLUG))


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("paused", "Signing is paused for the moment"),
        ("closed", "This petition is closed"),
        ("deadline passed", "This petition is closed"),
    ],
)
def test_a_petition_not_open_for_signing_says_so_and_stores_nothing(
    client, demo, mailbox, change, says
):
    # The form was loaded while the petition was still open.
    token = csrf_token(client.get(f"/en/c/{SLUG}").get_data(as_text=True))
    petition = naloxone_petition()
    if change == "deadline passed":
        petition.deadline = utcnow().date() - timedelta(days=1)
    else:
        petition.campaign.status = CampaignStatus(change)
    db.session.commit()

    for email in ("late@example.org", "not-an-address"):
        response = client.post(
            f"/en/c/{SLUG}",
            data={"csrf_token": token, "name": "Ada", "email": email, "country": "DE"},
        )
        assert response.status_code == 409
        assert says in response.get_data(as_text=True)
    assert stored_rows() == {"Signature": 0, "ConsentRecord": 0, "Event": 0}


def test_signing_again_after_the_petition_closed_sends_nothing(app, client, demo, mailbox):
    app.config["CONFIRMATION_RESEND_INTERVAL"] = 0  # a resend would be due at once
    try:
        sign(client, email="early@example.org")
        run_outbox(app)
        token = csrf_token(client.get(f"/en/c/{SLUG}").get_data(as_text=True))
        naloxone_petition().campaign.status = CampaignStatus.CLOSED
        db.session.commit()

        response = client.post(
            f"/en/c/{SLUG}",
            data={
                "csrf_token": token,
                "name": "Ada",
                "email": "early@example.org",
                "country": "DE",
            },
        )
        run_outbox(app)
    finally:
        app.config["CONFIRMATION_RESEND_INTERVAL"] = 600

    assert response.status_code == 409
    assert stored_rows() == {"Signature": 1, "ConsentRecord": 3, "Event": 1}
    assert len(mailbox.to("early@example.org")) == 1  # the first confirmation only


def test_a_new_signature_costs_one_statement_on_postgresql(app, client, demo, mailbox):
    """Signing is the busiest write: on PostgreSQL the signature, its consents and its event go
    in one statement, in autocommit: one round trip to the server, no BEGIN and no COMMIT (on
    SQLite, in the process, three statements)."""
    token = csrf_token(client.get(f"/en/c/{SLUG}").get_data(as_text=True))
    # The consent wording is stored on first use, and its ids are remembered once read back.
    for warm_up in ("first@example.org", "second@example.org"):
        sign(client, email=warm_up)
    statements = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engines = (db.engine, autocommit(db.engine))
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post(
            f"/en/c/{SLUG}",
            data={"csrf_token": token, "name": "Ada", "email": "one@example.org", "country": "DE"},
        )
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)

    assert response.status_code == 303
    expected = 1 if db.engine.dialect.name == "postgresql" else 3
    assert len(statements) == expected, statements
    assert stored_rows() == {"Signature": 3, "ConsentRecord": 9, "Event": 3}


def test_a_petition_takes_signatures_on_its_deadline_day(client, demo, mailbox):
    naloxone_petition().deadline = utcnow().date()
    db.session.commit()

    assert sign(client, email="just-in-time@example.org").status_code == 303
    assert stored_rows() == {"Signature": 1, "ConsentRecord": 3, "Event": 1}


def test_signing_a_petition_that_does_not_exist_is_a_404(client, demo, mailbox):
    page = client.get(f"/en/c/{SLUG}")
    response = client.post(
        "/en/c/no-such-campaign",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "name": "Ada Example",
            "email": "ada@example.org",
            "country": "DE",
        },
    )
    assert response.status_code == 404
    assert stored_rows() == {"Signature": 0, "ConsentRecord": 0, "Event": 0}


def test_the_member_network_whose_link_brought_the_signer_is_recorded(client, demo, mailbox):
    network, deactivated = db.session.scalars(
        select(Network).where(Network.is_umbrella.is_(False)).order_by(Network.id).limit(2)
    ).all()
    deactivated.is_active = False
    db.session.commit()
    sign(client, email="via-network@example.org", source=f" {network.slug.upper()} ")
    sign(client, email="via-unknown@example.org", source="no-such-network")
    sign(client, email="via-deactivated@example.org", source=deactivated.slug)
    sign(client, email="direct@example.org")

    rows = db.session.execute(select(Signature.email, Signature.source_network_id)).all()
    assert dict(rows) == {
        "via-network@example.org": network.id,
        "via-unknown@example.org": None,
        "via-deactivated@example.org": None,  # a deactivated network's code attributes nothing
        "direct@example.org": None,
    }


def test_the_confirmation_mail_is_complete_and_in_the_signers_language(app, client, demo, mailbox):
    sign(client, lang="de", email="bea@example.org", name="Bea")
    run_outbox(app)

    [message] = mailbox.messages
    assert message["To"] == "bea@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert re.fullmatch(r"<[^@<>\s]+@campaigns\.example\.org>", message["Message-ID"])
    assert message["Date"]
    assert message["Content-Language"] == "de"
    assert "Naloxon in jede Tasche" in message["Subject"]
    assert message.get_body(preferencelist=("html",)) is not None
    confirm, reject = confirmation_links(message)
    assert confirm.startswith("http://localhost/de/confirm/")
    assert reject.startswith("http://localhost/de/not-me/")
    assert text_part(message).startswith("Hallo,")
    # The typed name is not echoed into mail to an address that may not be the signer's.
    assert "Bea" not in text_part(message)


def test_confirming_counts_once_and_a_second_click_is_harmless(app, client, demo, mailbox):
    before = count_on_page(client)
    sign(client, email="cleo@example.org", country="FR")
    run_outbox(app)
    confirm, _ = confirmation_links(mailbox.messages[0])

    # The link shows a button (mail scanners open links but press nothing); pressing it confirms.
    page = client.get(path_of(confirm))
    assert "Confirm my signature" in page.get_data(as_text=True)
    assert db.session.scalar(select(Signature.status)) == SignatureStatus.PENDING
    first = confirm_by_link(client, confirm)
    assert first.status_code == 303
    thanks = client.get(first.location).get_data(as_text=True)
    assert "Thank you" in thanks
    assert "https://wa.me/?text=" in thanks  # plain share links, no scripts
    assert scripts_in(thanks) == ["/static/forms.js", "/static/share.js"]
    assert count_on_page(client) == before + 1

    again = client.get(path_of(confirm))  # the link again: straight to the thank-you page
    assert again.status_code == 303
    assert again.location == first.location
    run_outbox(app)  # the worker's handler counts idempotently too
    assert count_on_page(client) == before + 1
    signature = db.session.scalar(select(Signature))
    assert signature.status == SignatureStatus.CONFIRMED
    assert all(c.confirmed_at == signature.confirmed_at for c in signature.consents)
    assert len(mailbox.messages) == 1


def test_counts_are_public_as_json_with_cache_headers(app, client, demo, mailbox):
    for email, country in (
        ("a@example.org", "DE"),
        ("b@example.org", "DE"),
        ("c@example.org", "NO"),
    ):
        sign(client, email=email, country=country)
    run_outbox(app)
    for message in mailbox.messages:
        confirm_by_link(client, confirmation_links(message)[0])

    response = client.get(f"/api/v1/petitions/{SLUG}/counts")
    assert response.status_code == 200
    assert response.json["total"] == 3
    assert response.json["by_country"] == {"DE": 2, "NO": 1}
    assert response.json["goal"] == 10_000
    assert "max-age=" in response.headers["Cache-Control"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    missing = client.get("/api/v1/petitions/nope/counts")
    assert (missing.status_code, missing.content_type) == (404, "application/problem+json")
    assert missing.json["detail"] == "There is no public campaign “nope”."


def test_it_wasnt_me_removes_the_signature_and_the_address(app, client, demo, mailbox):
    sign(client, email="dan@example.org", name="Dan")
    run_outbox(app)
    confirm, reject = confirmation_links(mailbox.messages[0])

    # Opening the link (as a mail scanner would) changes nothing; the button does.
    page = client.get(path_of(reject))
    assert page.status_code == 200
    assert db.session.scalar(select(Signature.status)) == SignatureStatus.PENDING
    done = client.post(
        path_of(reject), data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert done.status_code == 200
    assert "Signature removed" in done.get_data(as_text=True)

    db.session.expire_all()
    signature = db.session.scalar(select(Signature))
    assert signature.status == SignatureStatus.REJECTED
    assert (signature.email, signature.name) == (None, None)
    assert (
        db.session.scalar(
            select(func.count()).select_from(Signature).where(Signature.email == "dan@example.org")
        )
        == 0
    )
    # The confirm link of a withdrawn signature no longer counts anything.
    assert client.get(path_of(confirm)).status_code == 410


def test_a_confirmed_signature_withdrawn_leaves_the_count(app, client, demo, mailbox):
    sign(client, email="eve@example.org")
    run_outbox(app)
    confirm, reject = confirmation_links(mailbox.messages[0])
    confirm_by_link(client, confirm)
    assert count_on_page(client) == 1

    page = client.get(path_of(reject)).get_data(as_text=True)
    client.post(path_of(reject), data={"csrf_token": csrf_token(page)})
    run_outbox(app)
    assert count_on_page(client) == 0


def test_the_same_email_never_counts_twice(app, client, demo, mailbox):
    first = sign(client, email="fay@example.org")
    first_page = client.get(first.location).get_data(as_text=True)
    # Any case, surrounding spaces: the same person. The page is the same whatever happened
    # (it names the address the mail goes to), so it never tells anyone whether it has signed.
    again = sign(client, email="  FAY@Example.ORG ")
    assert again.location == first.location
    assert client.get(again.location).get_data(as_text=True) == first_page
    assert "fay@example.org" in first_page
    run_outbox(app)
    assert len(mailbox.messages) == 1  # a resend within the interval is not sent
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1

    # After the resend interval the pending signer gets the confirmation mail again...
    app.config["CONFIRMATION_RESEND_INTERVAL"] = 0
    try:
        sign(client, email="Fay@example.org")
        run_outbox(app)
        assert [m["Subject"] for m in mailbox.to("fay@example.org")] == [
            "Please confirm your signature: Naloxone in every pocket"
        ] * 2

        # ...and, once confirmed, a friendly note that the signature already counts.
        confirm_by_link(client, confirmation_links(mailbox.messages[-1])[0])
        sign(client, email="fay@example.org")
        run_outbox(app)
    finally:
        app.config["CONFIRMATION_RESEND_INTERVAL"] = 600
    note = mailbox.messages[-1]
    assert note["Subject"] == "You have already signed: Naloxone in every pocket"
    assert "your signature already counts" in text_part(note)
    assert note["Auto-Submitted"] == "auto-generated"
    assert len(mailbox.messages) == 3
    assert count_on_page(client) == 1


def test_one_address_signing_from_several_requests_at_once_counts_once(app, demo, mailbox):
    """Double clicks and impatient reloads race each other: one signature, one set of consents,
    one event and one mail, and no request fails."""
    slug = db.session.scalar(select(Petition).order_by(Petition.id)).campaign.slug
    spellings = ["hal@example.org", " Hal@example.org", "HAL@EXAMPLE.ORG ", "hal@Example.org"]
    start = threading.Barrier(len(spellings))

    def sign_now(email: str) -> signing.SignOutcome:
        with app.app_context():
            try:
                start.wait()
                outcome, _id = signing.sign(
                    slug,
                    signing.SignatureInput(
                        name="Hal",
                        email=email,
                        country="AT",
                        comment="",
                        show_name=False,
                        newsletter=False,
                        locale="en",
                    ),
                )
                commit_unit_of_work()  # as the view does
                return outcome
            finally:
                db.session.remove()

    # A request that failed would raise here, from its thread.
    with ThreadPoolExecutor(len(spellings)) as pool:
        outcomes = list(pool.map(sign_now, spellings))

    assert sorted(outcomes) == sorted(
        [signing.SignOutcome.CREATED] + [signing.SignOutcome.THROTTLED] * 3
    )
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    assert db.session.scalar(select(func.count()).select_from(ConsentRecord)) == 3
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1
    run_outbox(app)
    assert len(mailbox.to("hal@example.org")) == 1


def test_an_expired_confirmation_link_says_so(app, client, demo, mailbox):
    sign(client, email="gil@example.org")
    run_outbox(app)
    confirm, _ = confirmation_links(mailbox.messages[0])
    app.config["CONFIRMATION_MAX_AGE"] = -1
    try:
        page = client.get(path_of(confirm))
    finally:
        app.config["CONFIRMATION_MAX_AGE"] = 7 * 24 * 3600
    assert page.status_code == 410
    assert "This link has expired" in page.get_data(as_text=True)
    assert db.session.scalar(select(Signature.status)) == SignatureStatus.PENDING


def test_a_tampered_link_is_a_friendly_404(client, demo):
    page = client.get("/en/confirm/not-a-real-token")
    assert page.status_code == 404
    assert "This link does not work" in page.get_data(as_text=True)


def test_unconfirmed_signatures_are_deleted_after_the_retention_period(app, client, demo, mailbox):
    from datetime import timedelta

    from campaigns.core.db import utcnow
    from campaigns.petitions.services import purge_unconfirmed

    sign(client, email="old@example.org")
    sign(client, email="new@example.org")
    run_outbox(app)
    confirm_by_link(client, confirmation_links(mailbox.to("new@example.org")[0])[0])
    db.session.execute(
        Signature.__table__.update().values(created_at=utcnow() - timedelta(days=31))
    )
    db.session.commit()

    assert purge_unconfirmed(timedelta(days=30)) == 1
    db.session.commit()
    assert db.session.scalars(select(Signature.email)).all() == ["new@example.org"]
    assert db.session.scalar(select(func.count()).select_from(ConsentRecord)) == 3


def test_only_signers_who_chose_it_are_shown_by_name(app, client, demo, mailbox):
    sign(client, email="shown@example.org", name="Shown Person", show_name="y", country="FI")
    sign(client, email="hidden@example.org", name="Hidden Person")
    sign(client, email="pending@example.org", name="Pending Person", show_name="y")
    run_outbox(app)
    for email in ("shown@example.org", "hidden@example.org"):
        confirm_by_link(client, confirmation_links(mailbox.to(email)[0])[0])

    html = client.get(f"/en/c/{SLUG}").get_data(as_text=True)
    assert "Shown Person" in html
    assert "(Finland)" in html
    assert "Hidden Person" not in html
    assert "Pending Person" not in html  # not until confirmed
    assert "2 signatures" in html
