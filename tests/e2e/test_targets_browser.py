"""The directory of targets in a real browser: a campaigner finds an imported MEP, then adds a
Commissioner, first with mistakes. axe-core checks the list and the form with its errors."""

from __future__ import annotations

import re

import pytest

from tests.conftest import STAFF_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def sign_in(page, email: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/staff/$"))


def test_find_an_mep_and_add_a_commissioner(app, page, live_server, make_staff, axe):
    from campaigns.lobbying.cli import targets_cli

    imported = app.test_cli_runner().invoke(targets_cli, ["import-meps"])
    assert imported.exit_code == 0, imported.output
    campaigner = make_staff("campaigner")
    sign_in(page, campaigner.email)

    page.get_by_role("navigation", name="Staff workspace").get_by_role(
        "link", name="Targets"
    ).click()
    page.get_by_role("heading", level=1, name="Targets").wait_for()
    assert page.get_by_text("1–100 of 718 targets.").is_visible()
    axe.check(page, "targets list")

    page.get_by_label("Name, role, institution, party or email").fill("wiseler")
    page.get_by_label("Country").select_option("LU")
    page.get_by_role("button", name="Search").click()
    page.get_by_text("1–1 of 1 targets.").wait_for()
    page.get_by_role("link", name="Isabel WISELER-LIMA").click()
    page.get_by_role("heading", level=1, name=re.compile("Isabel WISELER-LIMA")).wait_for()

    # A Commissioner, with mistakes first.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Targets").click()
    page.get_by_role("link", name="Add a target").click()
    page.get_by_label("Kind").select_option("commissioner")
    page.get_by_label("Name", exact=True).fill("Olga HEALTH")
    page.get_by_label("Email address").fill("not an address")
    page.get_by_label("Public profile (optional)").fill("http://commission.europa.eu/")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "Please enter the role" in summary.inner_text()
    assert "Please choose at least one language." in summary.inner_text()
    assert page.get_by_label("Name", exact=True).input_value() == "Olga HEALTH"  # kept
    axe.check(page, "new target form with errors")

    page.get_by_label("Role").fill("Commissioner for Health and Animal Welfare")
    page.get_by_label("Email address").fill("cab-health@ec.europa.eu")
    page.get_by_label("Public profile (optional)").fill("https://commission.europa.eu/")
    page.get_by_label("Time zone").fill("Europe/Brussels")
    page.get_by_label("English (en)").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", level=1, name=re.compile("Olga HEALTH")).wait_for()
    assert page.get_by_text("Olga HEALTH was added to the directory.").is_visible()
    axe.assert_clean()
