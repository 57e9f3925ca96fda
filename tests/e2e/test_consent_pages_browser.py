"""Three pages about who may write to whom, in a real browser and by keyboard only: a network's
alert contact stops its alert mails from the link of a real alert mail (in French) and takes
them back; a returning signer confirms "<network> may contact me" from the link of the "you have
already signed" mail (in German); a coordinator edits their network, whose countries they see
read only. axe-core checks every state of each page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from campaigns.alerts import emails
from campaigns.alerts.models import Channel, Topic
from campaigns.campaign.models import Campaign
from campaigns.core.events import record_event
from campaigns.extensions import db
from campaigns.networks.models import Network, NetworkContact
from campaigns.petitions.models import ConsentRecord, Signature, SignatureStatus
from tests.alerts.conftest import set_contacts, subscribe
from tests.e2e.test_preferences_browser import tab_to
from tests.e2e.test_staff_browser import sign_in
from tests.support import confirm_by_link, links_in, run_outbox, sign

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SLUG = "naloxone-in-every-pocket"
ALICE, BRUNO = "alice@asud.example.org", "bruno@asud.example.org"
SIGNER = "ana@example.org"


def network(slug: str) -> Network:
    db.session.expire_all()  # what the live server's requests committed
    return db.session.scalar(select(Network).where(Network.slug == slug))


def path_of(url: str) -> str:
    return urlsplit(url).path


def press_by_keyboard(page, button_text: str) -> None:
    """Press Tab from where the focus is (the top of a page just opened) until the button has it,
    visibly, then Enter; wait for the answer."""
    tab_to(page, button_text)
    with page.expect_navigation():
        page.keyboard.press("Enter")


# 1. An alert contact stops a network's alert mails.


def contact(address: str) -> NetworkContact:
    db.session.expire_all()
    return db.session.scalar(select(NetworkContact).where(NetworkContact.email == address))


def unsubscribe_link_of_a_launch_alert(app, mailbox) -> str:
    """ASUD (French) has two contacts and the launch alerts by email; a campaign is launched and
    its alert mails go out. Returns the path of the link in Alice's mail."""
    set_contacts("asud", ALICE, BRUNO)
    subscribe("asud", Topic.CAMPAIGN_LAUNCHED, Channel.EMAIL)
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
    record_event("campaign.launched", campaign_id=campaign.id, staff_user_id=None)
    db.session.commit()
    run_outbox(app)
    emails.send_pending()
    [mail] = mailbox.to(ALICE)
    [link] = [url for url in links_in(mail) if "/alerts/unsubscribe/" in url]
    assert str(mail["List-Unsubscribe"]) == f"<{link}>"  # the same link, for one-click
    return path_of(link)


def test_an_alert_contact_stops_the_mails_and_takes_them_back_by_keyboard_in_french(
    app, page, live_server, demo, mailbox, axe
):
    path = unsubscribe_link_of_a_launch_alert(app, mailbox)
    assert path.startswith("/fr/alerts/unsubscribe/")  # in ASUD's language

    page.goto(path)
    page.get_by_role("heading", level=1, name="Ne plus recevoir ces e-mails d’alerte ?").wait_for()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert contact(ALICE).receives_alert_mails  # opening the link changed nothing
    axe.check(page, "alert mails: the question")

    press_by_keyboard(page, "Arrêter les e-mails d’alerte")
    page.get_by_role("heading", level=1, name="Vous ne recevez plus d’e-mails d’alerte").wait_for()
    assert not contact(ALICE).receives_alert_mails
    assert contact(BRUNO).receives_alert_mails  # the network's other contact still gets them
    axe.check(page, "alert mails: stopped")

    press_by_keyboard(page, "Les recevoir à nouveau")
    page.get_by_role(
        "heading", level=1, name="Vous recevez à nouveau les e-mails d’alerte"
    ).wait_for()
    assert contact(ALICE).receives_alert_mails
    axe.check(page, "alert mails: received again")
    axe.assert_clean()


# 2. A returning signer confirms a network consent.


@pytest.fixture
def resend_at_once(app, monkeypatch):
    """Signing again sends its mail at once (else it waits CONFIRMATION_RESEND_INTERVAL)."""
    monkeypatch.setitem(app.config, "CONFIRMATION_RESEND_INTERVAL", 0)


def sign_in_german(client, ticked: bool) -> None:
    asud = network("asud")
    response = sign(
        client,
        lang="de",
        email=SIGNER,
        country="FR",
        source="asud",
        network_consent_for=str(asud.id),
        network_consent="y" if ticked else None,
    )
    assert response.status_code == 303


def consent_link_of_a_returning_signer(app, client, mailbox) -> str:
    """Ana signs in German without the box and confirms; she signs again with the box ticked.
    Returns the path of the link in the "you have already signed" mail."""
    sign_in_german(client, ticked=False)
    run_outbox(app)
    [confirm] = [url for url in links_in(mailbox.to(SIGNER)[-1]) if "/confirm/" in url]
    confirm_by_link(client, confirm)
    sign_in_german(client, ticked=True)
    run_outbox(app)
    [link] = [url for url in links_in(mailbox.to(SIGNER)[-1]) if "/network-consent/" in url]
    return path_of(link)


def network_consent_of(email: str) -> ConsentRecord:
    db.session.expire_all()
    return db.session.scalar(
        select(ConsentRecord)
        .join(Signature, Signature.id == ConsentRecord.signature_id)
        .where(Signature.email == email, ConsentRecord.network_id.is_not(None))
        .where(ConsentRecord.granted.is_(True))
    )


def test_a_returning_signer_confirms_the_network_consent_by_keyboard_in_german(
    app, client, page, live_server, demo, mailbox, resend_at_once, axe
):
    path = consent_link_of_a_returning_signer(app, client, mailbox)
    assert path.startswith("/de/network-consent/")  # in the language she signed in
    signature = db.session.scalar(select(Signature).where(Signature.email == SIGNER))
    assert signature.status == SignatureStatus.CONFIRMED

    page.goto(path)
    page.get_by_role("heading", level=1, name="Bestätige deine Einwilligung").wait_for()
    assert page.locator("html").get_attribute("lang") == "de"
    assert network_consent_of(SIGNER).confirmed_at is None  # opening the link changed nothing
    axe.check(page, "network consent: the question")

    asud = network("asud")
    press_by_keyboard(page, f"Bestätigen, dass {asud.name} mich kontaktieren darf")
    page.get_by_role("heading", level=1, name="Danke").wait_for()
    assert page.get_by_text(f"{asud.name} darf dich jetzt per E-Mail").is_visible()
    assert network_consent_of(SIGNER).confirmed_at is not None
    axe.check(page, "network consent: confirmed")
    axe.assert_clean()


# 3. A coordinator's network edit page shows the countries read only.


def tab_to_field(page, field_id: str, presses: int = 80) -> None:
    """Press Tab until the field `field_id` has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(document.activeElement || {}).id") == field_id:
            return
    raise AssertionError(f"{presses} presses of Tab never reached #{field_id}")


def test_a_coordinator_sees_the_countries_read_only_and_saves_by_keyboard(
    page, live_server, demo, make_staff, axe
):
    asud = network("asud")
    coordinator = make_staff("coordinator", network=asud)
    sign_in(page, coordinator.email)

    page.goto(f"/staff/networks/{asud.id}/edit")
    page.get_by_role("heading", level=1, name=f"Edit: {asud.name}").wait_for()
    assert page.locator("[name=countries]").count() == 0  # no box to tick or untick
    assert page.get_by_role("checkbox", name="France").count() == 0
    shown = page.get_by_text("Countries it works in:").locator("xpath=..")
    assert "France" in shown.inner_text()
    assert "an administrator changes them" in shown.inner_text()
    axe.check(page, "network edit page of a coordinator")

    # By keyboard only: from the top of the page to the description, then on to Save.
    tab_to_field(page, "description")
    page.keyboard.press("Control+A")
    page.keyboard.type("Auto-support des usagers de drogues, depuis 1992.")
    press_by_keyboard(page, "Save")  # on from the description
    page.get_by_text(f"Changes to {asud.name} saved.").wait_for()
    axe.check(page, "network page after saving")

    saved = network("asud")
    assert saved.description == "Auto-support des usagers de drogues, depuis 1992."
    assert saved.countries == ["FR"]
    axe.assert_clean()
