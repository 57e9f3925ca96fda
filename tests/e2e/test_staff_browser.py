"""The staff workspace in a real browser: an admin launches a campaign in two languages, a
supporter signs it, and the admin sees the signature on the dashboard, exports it, and finds the
export in the audit log. axe-core checks the editor and the dashboard."""

from __future__ import annotations

import re

import pytest

from tests.conftest import STAFF_PASSWORD
from tests.support import links_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SLUG = "harm-reduction-in-prisons"


def sign_in(page, email: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/staff/$"))


def test_an_admin_launches_a_campaign_and_follows_its_first_signature(
    page, browser, live_server, demo, make_staff, mailbox, start_worker, axe
):
    start_worker(PUBLIC_BASE_URL=live_server.url)
    admin = make_staff("admin", name="Ada Admin")
    sign_in(page, admin.email)

    # A new campaign, in English.
    page.get_by_role("link", name="Campaigns").first.click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Web address (slug)").fill(SLUG)
    network = page.get_by_label("Lead network")
    asud = network.locator("option", has_text="ASUD").get_attribute("value")
    network.select_option(asud)
    page.get_by_label("Goal").fill("5000")
    page.get_by_label("Title").fill("Harm reduction in every prison")
    page.get_by_label("Summary").fill(
        "Needle and syringe programmes behind bars, in every member state."
    )
    page.get_by_label("Text of the petition (Markdown)").fill(
        "We ask the **Commission** to fund harm reduction in prisons."
    )
    page.get_by_label("Status of this version").select_option("ready")
    axe.check(page, "campaign editor")
    page.get_by_role("button", name=re.compile("Create|Save")).click()
    page.get_by_role("heading", level=1, name="Harm reduction in every prison").wait_for()
    campaign_page = page.url  # /staff/campaigns/<id>/

    # Its French version.
    page.get_by_role("link", name="Translations").first.click()
    page.get_by_role("link", name=re.compile(r"Write it.*French|Write it \(Français\)")).click()
    page.get_by_label("Title").fill("La réduction des risques dans chaque prison")
    page.get_by_label("Summary").fill(
        "Des programmes d'échange de seringues derrière les barreaux."
    )
    page.get_by_label("Text of the petition (Markdown)").fill(
        "Nous demandons à la **Commission** de financer la réduction des risques en prison."
    )
    page.get_by_label("Status of this version").select_option("ready")
    page.get_by_role("button", name=re.compile("Save")).click()

    # The preview in French is the public page, marked as not public.
    page.goto(campaign_page + "preview/fr")
    page.get_by_role(
        "heading", level=1, name="La réduction des risques dans chaque prison"
    ).wait_for()
    assert "not public" in page.content().lower()  # the banner, in the staff member's language

    # Launch.
    page.goto(campaign_page)
    page.get_by_role("button", name="Launch").click()
    # It asks first, naming the languages that will show the default text.
    page.get_by_role("heading", level=1, name=re.compile("^Launch ")).wait_for()
    page.get_by_role("button", name="Yes, launch it").click()
    page.locator(".badge.status-live").wait_for()

    # A supporter signs in French and confirms from the email.
    supporter = browser.new_context(base_url=live_server.url).new_page()
    supporter.goto(f"/fr/c/{SLUG}")
    supporter.get_by_label("Votre nom").fill("Camille Martin")
    supporter.get_by_label("Votre adresse e-mail").fill("camille@example.org")
    supporter.get_by_label("Votre pays").select_option("FR")
    supporter.get_by_role("button", name=re.compile("Signer")).click()
    supporter.wait_for_url(re.compile(r"/check-email$"))
    (message,) = mailbox.wait_for(1)
    confirm = next(link for link in links_in(message) if "/confirm/" in link)
    supporter.goto(confirm)
    supporter.get_by_role("button").first.click()
    supporter.wait_for_url(re.compile(r"/thanks$|/merci$|thank"))
    supporter.context.close()

    # The dashboard shows it on the chart and on the map (the workers count it).
    page.get_by_role("link", name="Dashboard").first.click()

    # The count by country comes at once (the confirmation counts it); the hours come when the
    # worker has handled the confirmation: wait for both.
    def hourly() -> list[str]:
        return [cell.text_content().strip() for cell in page.locator("#table-hourly td").all()]

    def counted() -> bool:
        france = page.locator("#table-countries tr[data-country='FR'] td").inner_text().strip()
        return france == "1" and "1" in hourly()

    for _ in range(40):
        if counted():
            break
        page.wait_for_timeout(500)
        page.reload()
    assert page.locator("#table-countries tr[data-country='FR'] td").inner_text().strip() == "1"
    assert "1" in hourly()
    # In the drawings themselves: France's tile on the map, a bar of height > 0 in the chart.
    assert page.locator("#chart-map title", has_text="France: 1").count() == 1
    bars = page.locator("#chart-hourly rect:has(title)")
    heights = [float(bar.get_attribute("height")) for bar in bars.all()]
    assert sum(1 for height in heights if height > 0) == 1
    axe.check(page, "dashboard")

    # The export contains the signature.
    page.get_by_role("link", name="Export signatures").first.click()
    page.locator("#columns").get_by_label("Email address").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv_text = download.value.path().read_text(encoding="utf-8-sig")
    assert "camille@example.org" in csv_text

    # The audit log shows the export, by the admin.
    page.goto("/staff/audit/?action=signatures.exported")
    row = page.locator("table.data tbody tr").first
    assert admin.email in row.inner_text()
    assert "Exported signatures as CSV" in row.inner_text()
    axe.assert_clean()
