"""The member-network directory in a real browser: an admin adds a network (first with
mistakes, typed with the keyboard), uploads its logo, opens its attribution kit; then anyone
reads its public page. axe-core checks every page on the way."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.models import Signature, SignatureStatus
from campaigns.petitions.tallies.services import count_confirmed
from tests.e2e.test_staff_browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def png_logo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (240, 80), (91, 36, 128)).save(out, format="PNG")
    return out.getvalue()


def test_add_a_network_and_read_its_public_page(page, demo, make_staff, axe):
    admin = make_staff("admin", name="Ada Admin")
    sign_in(page, admin.email)

    page.goto("/staff/networks/")
    page.get_by_role("heading", level=1, name="Member networks").wait_for()
    axe.check(page, "network list")
    page.get_by_role("link", name="Add a network").click()
    page.get_by_role("heading", level=1, name="Add a network").wait_for()

    # With the keyboard: type, tick a country with the space bar, send with Enter.
    page.get_by_label("Name", exact=True).focus()
    page.keyboard.type("Sananvapaus")
    page.keyboard.press("Tab")
    page.keyboard.type("asud")  # a slug that exists
    page.get_by_label("Finland").focus()
    page.keyboard.press("Space")
    page.get_by_label("Alert contacts").fill("Aino <aino@example.org>\nBroken <nope>")
    page.get_by_label("Sites that may embed our forms (optional)").fill(
        "https://www.example.fi/embed"
    )
    page.get_by_label("Website (optional)").focus()
    page.keyboard.type("https://www.example.fi")
    page.keyboard.press("Enter")

    summary = page.locator(".error-summary")
    summary.wait_for()
    text = summary.inner_text()
    assert "The slug “asud” belongs to ASUD" in text
    assert "Line 2: “nope” is not a valid email address" in text
    assert "an origin has no path" in text
    assert page.get_by_label("Name", exact=True).input_value() == "Sananvapaus"  # kept
    assert page.get_by_label("Finland").is_checked()
    axe.check(page, "new network form with errors")

    # The summary's link takes the focus to the field.
    summary.get_by_role("link", name=re.compile("^Slug")).click()
    assert page.evaluate("document.activeElement.id") == "slug"
    page.keyboard.press("Control+A")
    page.keyboard.type("sananvapaus")
    page.get_by_label("Alert contacts").fill("Aino <aino@example.org>")
    page.get_by_label("Sites that may embed our forms (optional)").fill("https://www.example.fi")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", level=1, name="Sananvapaus").wait_for()
    assert page.get_by_text("Sananvapaus was added.").is_visible()
    axe.check(page, "network page")

    # Its logo.
    page.get_by_role("navigation", name="Pages about Sananvapaus").get_by_role(
        "link", name="Logo"
    ).click()
    page.get_by_label("Logo file").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": png_logo()}]
    )
    page.get_by_role("button", name="Upload the logo").click()
    page.get_by_text("The logo of Sananvapaus was saved.").wait_for()
    page.get_by_role("img", name="The current logo of Sananvapaus").wait_for()
    axe.check(page, "logo page")

    # Its kit.
    page.get_by_role("navigation", name="Pages about Sananvapaus").get_by_role(
        "link", name="Attribution kit"
    ).click()
    page.get_by_role("heading", level=1, name="Attribution kit of Sananvapaus").wait_for()
    link = page.get_by_role("textbox", name="Link to share").first.input_value()
    assert link.endswith("?source=sananvapaus")
    axe.check(page, "attribution kit")

    # A confirmed signature it brought, then its public page, for anyone.
    network = db.session.scalar(select(Network).where(Network.slug == "sananvapaus"))
    petition = db.session.scalar(
        select(Campaign).where(Campaign.slug == "naloxone-in-every-pocket")
    ).petition
    signature = Signature(
        petition_id=petition.id,
        status=SignatureStatus.CONFIRMED,
        email="brought@example.org",
        name="Private Person",
        country="FI",
        locale="en",
        source_network_id=network.id,
        confirmed_at=utcnow(),
    )
    db.session.add(signature)
    db.session.commit()
    count_confirmed(signature)  # as the confirmation's handler does
    page.context.clear_cookies()
    page.goto("/en/networks/")
    page.get_by_role("heading", level=1, name="Our member networks").wait_for()
    axe.check(page, "public list of member networks")
    page.get_by_role("link", name="Sananvapaus").click()
    page.get_by_role("heading", level=1, name="Sananvapaus").wait_for()
    page.get_by_role("img", name="Logo of Sananvapaus").wait_for()
    assert page.get_by_text("1 signature brought by Sananvapaus").is_visible()
    assert "Private Person" not in page.content()
    axe.check(page, "public network page")
    axe.assert_clean()
