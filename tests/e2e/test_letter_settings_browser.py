"""A letter action's settings page in a real browser: the filter box of the target lists works, a
bad value is refused with the error summary, and axe-core finds nothing on the page either way."""

from __future__ import annotations

import re

import pytest

from campaigns.campaign.models import CampaignKind, TranslationStatus
from campaigns.editor import services as editor_services
from campaigns.extensions import db
from campaigns.lobbying.models import CommitteeRole, Target, TargetCommittee, TargetKind
from campaigns.networks.models import Network
from tests.e2e.test_staff_browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _directory() -> None:
    """Enough MEPs for the target lists to get their filter box (nine or more choices)."""
    countries = ["FR", "DE", "IT", "ES", "PL", "NL", "BE", "SE", "AT", "PT"]
    for i, country in enumerate(countries):
        target = Target(
            kind=TargetKind.MEP,
            name=f"Member {country} {i}",
            country=country,
            political_group="Renew" if i % 2 else "S&D",
            email=f"member{i}@ep.example",
        )
        target.committees = [
            TargetCommittee(committee="LIBE" if i % 3 else "SANT", role=CommitteeRole.MEMBER)
        ]
        db.session.add(target)
    db.session.add(
        Target(kind=TargetKind.COMMISSIONER, name="Olivia Commissioner", email="o@ec.example")
    )


def test_the_letter_settings_page_works_and_passes_axe(page, demo, make_staff, axe):
    admin = make_staff("admin", name="Ada Admin")
    _directory()
    network = db.session.query(Network).filter_by(slug="asud").one()
    campaign = editor_services.create_campaign(
        editor_services.Settings(
            slug="write-to-your-meps",
            default_locale="en",
            lead_network_id=network.id,
            kind=CampaignKind.LETTER,
        ),
        editor_services.Text(
            title="Write to your MEPs",
            summary="Ask them to fund harm reduction.",
            target="",
            body_markdown="Harm reduction saves lives.",
            status=TranslationStatus.READY,
            letter_subject="Fund harm reduction",
            letter_body="Please fund harm reduction services.",
        ),
        admin,
    )
    db.session.commit()
    settings_url = f"/staff/campaigns/{campaign.id}/letter/"

    sign_in(page, admin.email)
    page.goto(settings_url)
    page.get_by_role("heading", level=1, name="Letter settings").wait_for()
    assert "Test mode: letters go to" in page.content()
    # The preview says where nobody would receive the letters (no fallback list yet).
    assert page.locator("tr.nobody").count() >= 2  # Norway and "another country" at least
    axe.check(page, "letter settings")

    # The filter box narrows the fallback list; a ticked one stays visible.
    fallback = page.get_by_role("group", name=re.compile("Fallback list"))
    fallback.get_by_label("Olivia Commissioner", exact=False).check()
    fallback.get_by_label("Find in the list").fill("Member FR")
    assert fallback.locator("li:not([hidden])").count() == 2
    page.get_by_label("Most policymakers one letter goes to").fill("50")
    page.get_by_role("button", name="Save the letter settings").click()
    page.get_by_role("heading", name="Please correct the following:").wait_for()
    assert "Please enter a number from 1 to 20." in page.content()
    axe.check(page, "letter settings with an error")

    page.get_by_label("Most policymakers one letter goes to").fill("3")
    page.get_by_role("button", name="Save the letter settings").click()
    page.get_by_text("The letter settings are saved.").wait_for()
    norway = page.locator("tr", has=page.get_by_role("rowheader", name="Norway"))
    assert "Olivia Commissioner" in norway.inner_text()
    axe.assert_clean()
