"""The API's pages in Chromium: an admin makes a key by keyboard-friendly form, sees it once and
copies it; the documentation page lists every operation. axe finds nothing on either."""

from __future__ import annotations

import pytest

from tests.e2e.test_staff_browser import sign_in

pytestmark = pytest.mark.e2e


def test_an_admin_makes_a_key_and_a_developer_reads_the_documentation(page, demo, make_staff, axe):
    admin = make_staff("admin", name="Ada Admin")
    sign_in(page, admin.email)
    page.goto("/staff/api-keys/")
    page.get_by_role("heading", level=1, name="API keys").wait_for()
    axe.check(page, "API keys, none yet")
    page.goto("/staff/api-keys/new")
    page.get_by_role("button", name="Make the key").click()  # empty: errors, nothing lost
    page.locator(".error-summary").wait_for()
    axe.check(page, "new API key with errors")
    page.get_by_label("What it is for").fill("ASUD's CiviCRM")
    page.get_by_label("read:counts", exact=False).first.check()
    page.get_by_role("button", name="Make the key").click()
    key = page.get_by_label("API key").input_value()
    assert key.startswith("cmp_")
    axe.check(page, "the key, shown once")
    page.goto("/staff/api-keys/")
    assert key not in page.content()  # only its prefix, from now on
    assert key.split("_")[1] in page.content()

    page.goto("/api/v1/docs")
    page.get_by_role("heading", level=1).wait_for()
    for path in ("/api/v1/advocacy_campaigns", "/api/v1/people", "/api/v1/targets/{target_id}"):
        assert path in page.inner_text("main")
    axe.check(page, "API documentation")
    axe.assert_clean()
