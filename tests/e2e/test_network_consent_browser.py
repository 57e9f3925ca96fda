"""The box "<network> may contact me" in a real browser: choosing a country with a member network
shows the box named for it (static/forms.js), by keyboard; a box ticked for one network is never
carried over to another; the consent is stored for the network the label named. Then that
network's coordinator reads and downloads the list. axe-core checks each page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.models import ConsentRecord, Signature
from tests.conftest import STAFF_PASSWORD
from tests.e2e.browser import LiveServer, watched_page
from tests.e2e.conftest import TIMEOUT_MS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SLUG = "naloxone-in-every-pocket"


def focused(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement; return e ? (e.id || e.tagName.toLowerCase()) : '' }"
    )


def tab(page, expected: str) -> None:
    page.keyboard.press("Tab")
    assert focused(page) == expected, f"Tab went to {focused(page)!r}, not {expected!r}"
    assert page.evaluate("document.activeElement.matches(':focus-visible')"), expected


def network(slug: str) -> Network:
    return db.session.scalar(select(Network).where(Network.slug == slug))


def test_choosing_a_country_offers_its_network_by_keyboard(page, live_server, demo, axe):
    asud, jes = network("asud"), network("jes")
    page.goto(f"/en/c/{SLUG}")
    box = page.locator("#network_consent")
    label = page.locator("#network-consent-label")
    assert not box.is_visible()  # no network yet: nothing to consent to
    axe.check(page, "petition page, no country chosen")

    page.locator("#name").focus()
    page.keyboard.type("Camille Martin")
    tab(page, "email")
    page.keyboard.type("camille@example.org")
    tab(page, "country")
    page.keyboard.type("France")  # type-ahead in the closed list
    assert page.locator("#country").input_value() == "FR"
    box.wait_for(state="visible")
    assert label.inner_text().startswith("ASUD – Auto-Support des Usagers de Drogues, a member")
    assert not box.is_checked()  # unticked by default
    tab(page, "comment")
    tab(page, "summary")
    tab(page, "show_name")
    tab(page, "newsletter")
    tab(page, "network_consent")
    page.keyboard.press("Space")
    assert box.is_checked()
    axe.check(page, "petition page, ASUD offered and ticked")

    # Another country: its own network, and the box ticked for ASUD is not carried over.
    page.locator("#country").select_option("DE")
    assert label.inner_text().startswith("JES-Bundesverband")
    assert not box.is_checked()
    assert page.locator("#network_consent_for").input_value() == str(jes.id)
    # A country without a member network: no box, and nothing would be sent for one.
    page.locator("#country").select_option("AT")
    assert not box.is_visible()
    assert page.locator("#network_consent_for").input_value() == ""

    page.locator("#country").select_option("FR")
    box.check()
    page.get_by_role("button", name="Sign").press("Enter")
    page.wait_for_url(re.compile(rf"/en/c/{SLUG}/check-email$"))

    db.session.expire_all()
    signature = db.session.scalar(select(Signature).where(Signature.email == "camille@example.org"))
    record = db.session.scalar(
        select(ConsentRecord).where(
            ConsentRecord.signature_id == signature.id, ConsentRecord.network_id.is_not(None)
        )
    )
    assert (record.network_id, record.granted) == (asud.id, True)
    assert record.consent_text.text == label_text_for(asud)
    axe.assert_clean()


def label_text_for(asud: Network) -> str:
    return (
        f"{asud.name}, a member network of the European Network of People who Use Drugs, may "
        "contact me by email about its work. It sees my name, email address and country. I can "
        "withdraw this at any time with the link in the emails."
    )


def test_an_error_keeps_the_box_and_its_state(page, live_server, demo, axe):
    page.goto(f"/en/c/{SLUG}?source=asud")
    box = page.locator("#network_consent")
    assert box.is_visible()  # the network whose link brought the signer, without a country
    box.check()
    page.locator("#country").select_option("DE")
    # The network that brought the signer stays, whatever the country.
    assert page.locator("#network-consent-label").inner_text().startswith("ASUD")
    assert box.is_checked()
    page.get_by_role("button", name="Sign").click()  # no name, no address
    page.locator(".error-summary").wait_for()
    assert box.is_checked()
    assert page.locator("#network-consent-label").inner_text().startswith("ASUD")
    axe.check(page, "petition page with errors and the box ticked")
    axe.assert_clean()


# --- the coordinator's list -----------------------------------------------------------------


@pytest.fixture
def staff_server(app) -> Iterator[str]:
    """The app with the shared supporters' pages, over HTTP."""
    server = LiveServer(app).start()
    yield server.url
    server.stop()


def test_a_coordinator_reads_and_downloads_their_networks_list(
    browser, staff_server, demo, make_staff, axe, tmp_path
):
    from campaigns.petitions.consent import NetworkConsent, record_consents
    from campaigns.petitions.models import Petition, SignatureStatus

    asud = network("asud")
    petition = db.session.scalar(select(Petition))
    signature = Signature(
        petition_id=petition.id,
        status=SignatureStatus.CONFIRMED,
        email="camille@example.org",
        name="Camille Martin",
        country="FR",
        locale="fr",
    )
    db.session.add(signature)
    db.session.flush()
    from campaigns.core.db import utcnow

    now = utcnow()
    record_consents(signature.id, "fr", {}, now, NetworkConsent(asud.id, asud.name, True))
    db.session.execute(
        ConsentRecord.__table__.update()
        .where(ConsentRecord.signature_id == signature.id)
        .values(confirmed_at=now)
    )
    db.session.commit()
    coordinator = make_staff("coordinator", network=asud)

    # The 403 page is expected below; any other console error (a CSP violation) is not.
    page, errors = watched_page(browser, staff_server, TIMEOUT_MS, accept_downloads=True)
    try:
        page.goto("/staff/login")
        page.get_by_label("Email address").fill(coordinator.email)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/staff/$"))
        page.goto(f"/staff/networks/{asud.id}/supporters")
        page.get_by_role("heading", level=1, name=re.compile("agreed to hear from ASUD")).wait_for()
        assert page.get_by_role("cell", name="camille@example.org").is_visible()
        axe.check(page, "shared supporters")

        button = page.get_by_role("button", name="Download the list (CSV)")
        button.focus()
        with page.expect_download() as download_info:
            page.keyboard.press("Enter")
        path = tmp_path / "list.csv"
        download_info.value.save_as(path)
        assert "camille@example.org" in path.read_text(encoding="utf-8-sig")

        page.goto(f"/staff/networks/{network('jes').id}/supporters")
        assert page.get_by_role("heading", name="You do not have access to this page").is_visible()
    finally:
        page.context.close()
    assert errors == []
    axe.assert_clean()
