"""On a 320 px phone: the first screen of a petition leads to signing, a failed submit takes the
person to what went wrong, and no page scrolls sideways as a whole (a wide table scrolls inside
its own box)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.mailings.models import Mailing
from tests.mailings.conftest import add_supporter, make_mailing

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SLUG = "naloxone-in-every-pocket"
PHONE = {"width": 320, "height": 568}


@pytest.fixture
def phone(page):
    page.set_viewport_size(PHONE)
    return page


def in_first_screen(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def focused_element_class(page) -> str:
    return page.evaluate("() => document.activeElement.className")


def scrolls_sideways(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def test_the_first_screen_shows_the_count_and_the_way_to_sign(phone, demo, axe):
    add_supporter(SLUG, "first@example.org")
    phone.goto(f"/en/c/{SLUG}")

    assert in_first_screen(phone, ".jump-to-sign")
    assert phone.locator(".jump-to-sign strong").inner_text() == "1 signature"
    phone.locator(".jump-to-sign").get_by_role("link", name="Sign the petition").click()
    phone.wait_for_function("() => location.hash === '#sign-heading'")
    assert in_first_screen(phone, "#sign-heading")
    axe.check(phone, "petition page at 320 px")
    axe.assert_clean()


def test_an_empty_submit_brings_the_error_summary_into_view_with_the_focus(phone, demo, axe):
    phone.goto(f"/en/c/{SLUG}")
    phone.get_by_role("button", name="Sign", exact=True).click()

    summary = phone.locator(".error-summary")
    summary.wait_for()
    phone.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert in_first_screen(phone, ".error-summary h2")
    axe.check(phone, "petition page with errors at 320 px")
    axe.assert_clean()


def test_a_staff_form_with_errors_focuses_its_summary(phone, demo, make_staff, live_server):
    user = make_staff("campaigner")
    sign_in(phone, user.email)
    phone.goto("/staff/campaigns/new")
    phone.get_by_role("button", name=re.compile("Save")).click()
    phone.locator(".error-summary").wait_for()
    phone.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert in_first_screen(phone, ".error-summary h2")


def sign_in(page, email: str) -> None:
    from tests.conftest import STAFF_PASSWORD

    page.goto("/staff/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile("/staff/$"))


def test_no_page_scrolls_sideways_on_a_phone(phone, demo, make_staff, axe):
    add_supporter(SLUG, "reader@example.org")
    mailing = make_mailing()
    campaign_id = db.session.scalar(select(Campaign.id).where(Campaign.slug == SLUG))
    admin = make_staff("admin")
    db.session.commit()
    public = ["/en/", f"/en/c/{SLUG}", f"/en/c/{SLUG}/thanks", f"/en/c/{SLUG}/check-email"]
    for path in public:
        phone.goto(path)
        assert not scrolls_sideways(phone), path
    sign_in(phone, admin.email)
    staff = [
        "/staff/",
        "/staff/campaigns/",
        "/staff/campaigns/?q=naloxone&sort=confirmed",  # searched and sorted
        f"/staff/campaigns/{campaign_id}/",
        f"/staff/campaigns/{campaign_id}/settings",
        f"/staff/campaigns/{campaign_id}/translations",
        f"/staff/campaigns/{campaign_id}/dashboard",
        f"/staff/campaigns/{campaign_id}/export",
        f"/staff/campaigns/{campaign_id}/report",
        "/staff/mailings/",
        "/staff/mailings/new",
        f"/staff/mailings/{db.session.get(Mailing, mailing.id).id}",
        "/staff/team/",
        "/staff/audit/",
        "/staff/account",
        "/staff/settings",
        "/staff/mail/",
    ]
    wide = []
    for path in staff:
        phone.goto(path)
        if scrolls_sideways(phone):
            wide.append(path)
        axe.check(phone, f"{path} at 320 px")
    assert wide == []
    axe.assert_clean()
