"""Writing to one's MEPs in a real browser, by keyboard: Chromium on the app over HTTP, a real
Celery worker, a real SMTP sink. The letters reach the test inbox (test mode), one per target."""

from __future__ import annotations

import re

import pytest

from tests.lobbying.conftest import SLUG, action, directory  # noqa: F401 - fixtures
from tests.support import links_in, text_part, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ALWAYS_OPEN = "Mon-Sun 00:00-24:00"  # the test must not depend on the day it runs


def focused(page) -> str:
    """What has the keyboard focus: its id, else its text."""
    return page.evaluate(
        "() => { const e = document.activeElement; return e ? (e.id || e.textContent.trim()) : '' }"
    )


def tab_until(page, expected: str, presses: int = 40) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if focused(page) == expected:
            return
    raise AssertionError(f"Tab never reached {expected!r}")


def test_write_by_keyboard_confirm_and_the_worker_delivers_to_the_test_inbox(
    app,
    page,
    live_server,
    action,  # noqa: F811 - the fixture imported above
    directory,  # noqa: F811
    mailbox,
    start_worker,
    axe,
):
    start_worker(
        PUBLIC_BASE_URL=live_server.url, LOBBYING_OFFICE_HOURS=ALWAYS_OPEN, LOBBYING_JITTER="0"
    )
    page.goto(f"/en/write/{SLUG}")
    page.get_by_role("heading", level=1, name="End the war on people who use drugs").wait_for()
    # With JavaScript the list follows the country: the round-trip button is not needed.
    assert page.get_by_role("button", name="Show who receives it").is_hidden()
    axe.check(page, "letter action page")

    tab_until(page, "name")
    page.keyboard.type("Ada Lovelace")
    page.keyboard.press("Tab")
    page.keyboard.type("ada.letter@example.org")
    page.keyboard.press("Tab")
    assert focused(page) == "country"
    page.keyboard.type("France")
    page.locator("#recipients li").first.wait_for()
    names = page.locator("#recipients li strong").all_inner_texts()
    assert names == ["Marc LEROY", "Sophie MARTIN", "Claire DUPONT"]
    axe.check(page, "letter action page with its recipients")
    page.keyboard.press("Tab")
    assert focused(page) == "note"
    page.keyboard.type("Harm reduction saved my life.")
    tab_until(page, "send")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(rf"/en/write/{SLUG}/check-email$"))
    page.get_by_role("heading", level=1, name="Check your email").wait_for()
    axe.check(page, "check-email page")

    [message] = mailbox.wait_for(1)
    assert "Marc LEROY" in text_part(message)
    confirm = next(link for link in links_in(message) if "/letters/confirm/" in link)
    page.goto(confirm)
    page.get_by_role("heading", level=1, name="Confirm your letter").wait_for()
    axe.check(page, "letter confirmation page")
    tab_until(page, "Send my letter")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/en/write/{SLUG}/thanks$"))
    page.get_by_role("heading", level=1, name="Thank you: your letter is on its way").wait_for()
    assert "Sophie MARTIN" in page.locator("main").inner_text()
    axe.check(page, "letter thank-you page")

    # The worker schedules the letters and mails the receipt; beat's tick (run here by hand, as
    # beat would) sends one letter to each target, to the test inbox.
    wait_until(lambda: len(mailbox.messages) == 2)
    app.extensions["celery"].send_task("lobbying.tick")
    wait_until(lambda: len(mailbox.messages) == 5)
    letters = [m for m in mailbox.messages if m["X-Original-To"]]
    assert sorted(m["X-Original-To"] for m in letters) == sorted(
        directory[n].email for n in ("marc", "sophie", "claire")
    )
    recipients = {r for _sender, rcpts in mailbox.envelopes for r in rcpts}
    assert recipients == {"ada.letter@example.org", app.config["LOBBYING_TEST_INBOX"]}
    assert all("Harm reduction saved my life." in text_part(m) for m in letters)


def test_on_a_phone_the_letter_page_leads_to_writing_and_errors_come_into_view(
    page,
    action,  # noqa: F811
    directory,  # noqa: F811
    axe,
):
    page.set_viewport_size({"width": 320, "height": 568})
    page.goto(f"/en/write/{SLUG}?country=FR")
    jump = page.locator(".jump-to-sign")
    assert jump.bounding_box()["y"] + jump.bounding_box()["height"] <= 568  # the first screen
    assert not page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    page.get_by_role("button", name="Send my letter").click()
    # The summary is in the page before the deferred forms.js has focused it: wait for the focus.
    page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert not page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    axe.check(page, "letter page with errors at 320 px")
