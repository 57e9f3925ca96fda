"""A network's alert contact stops the alert mails themselves: each mail carries their own
signed link (and List-Unsubscribe with one-click); opening it changes nothing, its button or a
mail program's POST stops them at once, audited; every later alert skips the address, a mail
still waiting is not sent; the coordinator sees it; only the contact's link takes it back."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from campaigns.alerts import digest, emails, optouts
from campaigns.alerts.audience import reach
from campaigns.alerts.fan_out import fan_out
from campaigns.alerts.models import AlertEmail, Topic
from campaigns.audit.models import AuditEntry
from campaigns.campaign.models import Campaign
from campaigns.core.events import record_event
from campaigns.core.links import SignedLinks
from campaigns.extensions import db
from campaigns.networks.models import NetworkContact
from tests.alerts.conftest import network
from tests.support import csrf_token, run_outbox, text_part

ALICE, BRUNO, JANA = "alice@asud.example.org", "bruno@asud.example.org", "jana@jes.example.org"
# Monday 9 March 2026, 08:30 in Brussels: the digest of week 10 is due.
MONDAY_MORNING = datetime(2026, 3, 9, 7, 30, tzinfo=UTC)


def contact(address: str) -> NetworkContact:
    db.session.rollback()  # what the requests committed
    return db.session.scalar(select(NetworkContact).where(NetworkContact.email == address))


def link_of(message) -> str:
    """The path of the unsubscribe link in a mail's List-Unsubscribe header."""
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<"), header
    assert header.endswith(">"), header  # one https link, no mailto:
    return urlsplit(header[1:-1]).path


def in_english(path: str) -> str:
    """The same page in English (the new sentences are not in the catalogues yet)."""
    return "/en/" + path.split("/", 2)[2]


def stop(client, address: str, **form: str):
    return client.post(in_english(path_for(address)), data=form)


def path_for(address: str) -> str:
    return urlsplit(optouts.unsubscribe_url(contact(address), "en")).path


def audited(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def pending_to() -> list[str]:
    rows = db.session.scalars(select(AlertEmail).where(AlertEmail.status == "pending"))
    return sorted(row.email for row in rows)


def launch(slug: str = "naloxone-in-every-pocket") -> None:
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    record_event("campaign.launched", campaign_id=campaign.id, staff_user_id=None)
    db.session.commit()


@pytest.fixture
def launched(app, subscribed):
    """The launch alerts of a campaign, made: three emails pending (Alice, Bruno, Jana)."""
    subscribed(*Topic)
    launch()
    run_outbox(app)
    return app


def test_each_mail_carries_its_contacts_own_link_and_one_click_headers(launched, mailbox):
    emails.send_pending()
    [alice], [bruno], [jana] = mailbox.to(ALICE), mailbox.to(BRUNO), mailbox.to(JANA)
    assert link_of(alice) != link_of(bruno)
    assert link_of(alice).startswith("/fr/alerts/unsubscribe/")  # in ASUD's language
    assert link_of(jana).startswith("/de/alerts/unsubscribe/")
    assert alice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_part(alice)
    assert link_of(alice) in text
    assert "/staff/networks/" in text  # the coordinator's line stays
    html = alice.get_body(preferencelist=("html",)).get_content()
    assert f'{link_of(alice)}"' in html  # a real link, in the footer


def test_opening_the_link_changes_nothing_and_its_button_stops_the_mails(launched, client):
    path = in_english(path_for(ALICE))
    page = client.get(path)
    assert page.status_code == 200
    assert "Stop the alert mails" in page.get_data(as_text=True)
    assert contact(ALICE).receives_alert_mails  # a mail scanner opened it: nothing changed

    stopped = client.post(path)  # the button: no CSRF token needed, the link is the proof
    assert stopped.status_code == 200
    assert "You receive no more alert mails" in stopped.get_data(as_text=True)
    assert contact(ALICE).alerts_unsubscribed_at is not None
    assert contact(BRUNO).receives_alert_mails
    [entry] = audited("alerts.contact_unsubscribed")
    assert (entry.target_type, entry.target_id) == ("network_contacts", contact(ALICE).id)
    assert entry.actor_id is None
    assert entry.detail == {"network": "asud", "via": "page"}
    assert ALICE not in str(entry.detail)

    assert client.post(path).status_code == 200  # pressed twice: one entry
    assert len(audited("alerts.contact_unsubscribed")) == 1
    assert "Receive them again" in client.get(path).get_data(as_text=True)


def test_a_mail_programs_one_click_post_stops_them_at_once(launched, client):
    response = stop(client, JANA, **{"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not contact(JANA).receives_alert_mails
    [entry] = audited("alerts.contact_unsubscribed")
    assert entry.detail == {"network": "jes", "via": "one-click"}


def test_a_mail_waiting_when_its_contact_unsubscribes_or_goes_is_not_sent(
    launched, client, mailbox
):
    stop(client, ALICE)
    asud = network("asud")
    asud.contacts = [c for c in asud.contacts if c.email != BRUNO]  # the coordinator removes him
    db.session.commit()

    emails.send_pending()
    assert [str(m["To"]) for m in mailbox.messages] == [JANA]
    statuses = {e.email: e.status for e in db.session.scalars(select(AlertEmail))}
    assert statuses == {ALICE: "unsubscribed", BRUNO: "removed", JANA: "sent"}


def test_every_later_alert_skips_the_address_but_not_the_network(launched, client):
    before = reach(Topic.URGENT_ACTION)
    stop(client, ALICE)
    after = reach(Topic.URGENT_ACTION)
    assert (before.addresses, after.addresses) == (3, 2)
    assert after.by_email == before.by_email  # ASUD still reached, through Bruno

    db.session.execute(AlertEmail.__table__.delete().where(AlertEmail.status == "pending"))
    db.session.commit()
    for topic in Topic:
        fan_out(topic, "optout-test", lambda n: {"locale": n.locale})
        db.session.commit()
        assert pending_to() == [BRUNO, JANA], topic
        db.session.execute(AlertEmail.__table__.delete().where(AlertEmail.status == "pending"))
        db.session.commit()

    assert digest.send_weekly_digests(MONDAY_MORNING)
    assert pending_to() == [BRUNO, JANA]


def test_a_contact_alone_in_its_network_who_unsubscribes_leaves_it_unreachable_by_email(
    launched, client
):
    stop(client, JANA)
    found = reach(Topic.URGENT_ACTION)
    assert network("jes").id not in found.by_email
    assert network("jes").id in found.by_webhook  # its webhook still gets the alerts


def test_the_contact_receives_them_again_from_the_same_link_only(launched, client):
    path = in_english(path_for(ALICE))
    page = client.post(path).get_data(as_text=True)
    again = client.post(f"{path}/again", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 200
    assert "You receive the alert mails again" in again.get_data(as_text=True)
    assert contact(ALICE).receives_alert_mails
    [entry] = audited("alerts.contact_resubscribed")
    assert entry.detail == {"network": "asud", "via": "page"}
    # Without the page's CSRF token, no cross-site form takes it back for them.
    client.post(path)
    assert client.post(f"{path}/again").status_code == 400
    assert not contact(ALICE).receives_alert_mails


def test_a_link_not_ours_or_of_a_removed_contact_opens_nothing(launched, client):
    alice = contact(ALICE)
    forged = SignedLinks("network-contact").make(alice.id, "something-else")
    for token in ("nonsense", forged, "x" * 300):
        assert client.get(f"/en/alerts/unsubscribe/{token}").status_code == 404
        assert client.post(f"/en/alerts/unsubscribe/{token}").status_code == 404
    assert contact(ALICE).receives_alert_mails

    path = in_english(path_for(ALICE))
    asud = network("asud")
    asud.contacts = [c for c in asud.contacts if c.email != ALICE]
    db.session.commit()
    gone = client.get(path)
    assert gone.status_code == 404
    assert "no longer one of the network's contacts" in gone.get_data(as_text=True)
    assert not audited("alerts.contact_unsubscribed")


def test_the_coordinator_sees_who_stopped_them_and_edits_keep_it(
    launched, client, make_staff, staff_login
):
    from campaigns.network_directory.rules import Contact
    from campaigns.network_directory.services import update_network

    stop(client, ALICE)
    asud = network("asud")
    coordinator = staff_login(make_staff("coordinator", network=asud))
    for page in (f"/staff/networks/{asud.id}/", f"/staff/networks/{asud.id}/alerts"):
        html = coordinator.get(page).get_data(as_text=True)
        assert html.count("Stopped the alert mails on") == 1, page
        assert "receive them again from that same link" in html

    # Renaming contacts and adding one keeps Alice's choice: rows of the addresses kept stay.
    update_network(
        network("asud"),
        {
            "contacts": [
                Contact(name="Alice B.", email=ALICE),
                Contact(name="Bruno", email=BRUNO),
                Contact(name="Chloé", email="chloe@asud.example.org"),
            ]
        },
        via="command line",
    )
    db.session.commit()
    assert not contact(ALICE).receives_alert_mails
    assert optouts.recipients(network("asud")) == [BRUNO, "chloe@asud.example.org"]

    # Removing Alice and adding her back does not undo it either: only her own link does.
    for contacts in ([BRUNO], [ALICE, BRUNO]):
        update_network(
            network("asud"),
            {"contacts": [Contact(name="", email=address) for address in contacts]},
            via="command line",
        )
        db.session.commit()
    assert not contact(ALICE).receives_alert_mails
    assert optouts.recipients(network("asud")) == [BRUNO]
