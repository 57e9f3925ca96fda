"""The status page in a real browser: an administrator finds it in the menu, reads each check's
state in words, and axe-core finds nothing to fix."""

from __future__ import annotations

import re

import pytest

from tests.conftest import STAFF_PASSWORD
from tests.e2e.conftest import axe, browser, live_server, page  # noqa: F401 - browser fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_an_administrator_reads_the_status_page(page, make_staff, axe):  # noqa: F811
    admin = make_staff("admin")
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(admin.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/staff/"))

    menu = page.get_by_role("navigation", name="Staff workspace")
    menu.get_by_role("link", name="System status").click()
    page.get_by_role("heading", level=1, name="System status").wait_for()
    beat = page.get_by_role("row", name=re.compile(r"^Beat \(the scheduler\)"))
    assert beat.get_by_role("cell").first.inner_text() == "Failing"  # no beat in this test
    redis = page.get_by_role("row", name=re.compile(r"^Redis"))
    assert redis.get_by_role("cell").first.inner_text() == "OK"
    axe.check(page, "status page")
    axe.assert_clean()
