"""A letter action's report and scorecard in a real browser: staff read the delivery statistics
(a bounced address flagged), log a policymaker's answer, and the public scorecard shows it.
axe-core checks every page; the scorecard does not scroll sideways on a 320 px phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from campaigns.extensions import db
from tests.e2e.test_phone import PHONE, scrolls_sideways
from tests.e2e.test_staff_browser import sign_in
from tests.lobbying import conftest as lobbying
from tests.lobbying.conftest import SLUG
from tests.lobbying.test_pacing import run_until_sent
from tests.lobbying.test_scorecard import live_letters, today_in_brussels, write_letters

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# The letter action and its directory of targets, as the lobbying tests have them.
directory, action, office_clock = lobbying.directory, lobbying.action, lobbying.office_clock


def test_staff_log_an_answer_and_the_public_scorecard_shows_it(
    page, live_server, app, action, directory, office_clock, make_staff, mailbox, axe
):
    marc, claire, sophie, jonas, euda = (
        directory[k] for k in ("marc", "claire", "sophie", "jonas", "euda")
    )
    write_letters(action, [marc, claire, sophie, jonas, euda], 3)
    mailbox.rcpt_replies = {sophie.email: "550 5.1.1 No such user"}
    with live_letters(app, action):
        run_until_sent(office_clock, until=office_clock.now + timedelta(minutes=5))
    action.campaign.created_at -= timedelta(days=7)
    # A long quote with long words: the scorecard must still fit a phone.
    db.session.commit()
    campaign_id, claire_id = action.campaign_id, claire.id
    user = make_staff("campaigner")
    sign_in(page, user.email)

    # The delivery statistics, Sophie's bounced address first.
    page.goto(f"/staff/campaigns/{campaign_id}/letter/report/")
    alert = page.locator(".bounce-alert")
    assert "Sophie MARTIN" in alert.inner_text()
    assert "No such user" in alert.inner_text()
    assert page.locator("#letter-mode").is_visible()  # test mode, said plainly
    axe.check(page, "letter report")

    # An answer with a mistake, then right.
    page.get_by_role("link", name="Answers").click()
    page.get_by_label("Policymaker", exact=True).select_option(str(claire_id))
    page.get_by_label("Date of the answer").fill(today_in_brussels().isoformat())
    page.get_by_label("Supports", exact=True).check()
    quote = "Harm reduction works. " * 8 + "Supercalifragilisticexpialidocious-harm-reduction"
    page.get_by_label("Short quote (optional)").fill(quote)
    page.get_by_label("Link to the answer (optional)").fill("http://example.eu/answer")
    page.get_by_role("button", name="Log the answer").click()
    page.locator(".error-summary").wait_for()
    assert page.get_by_label("Short quote (optional)").input_value() == quote  # kept
    axe.check(page, "answers form with an error")
    page.get_by_label("Link to the answer (optional)").fill("https://example.eu/answer")
    page.get_by_role("button", name="Log the answer").click()
    page.get_by_text("The answer of Claire DUPONT is logged.").wait_for()
    row = page.locator(f"#latest-answers tr[data-target='{claire_id}']")
    assert "Supports" in row.inner_text()
    axe.check(page, "answers page")

    # The public scorecard, from the report's link.
    page.get_by_role("link", name="Public scorecard").click()
    page.wait_for_url(re.compile(rf"/en/write/{SLUG}/scorecard$"))
    claire_row = page.locator(f"#score-by-country tr[data-target='{claire_id}']")
    assert "Supports" in claire_row.inner_text()
    assert "Harm reduction works." in claire_row.inner_text()
    assert page.locator("#score-by-group tr[data-group='Greens/EFA']").inner_text().split() == [
        "Greens/EFA", "1", "1", "0", "0", "0"
    ]  # fmt: skip
    axe.check(page, "scorecard")

    page.set_viewport_size(PHONE)
    page.reload()
    assert not scrolls_sideways(page)
    axe.check(page, "scorecard at 320 px")
    axe.assert_clean()
