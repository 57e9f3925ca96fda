"""What cannot be undone asks first, in numbers: launching or closing a campaign, sending or
cancelling a mailing. Without the confirmation step nothing happens."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.extensions import db
from campaigns.mailings import lifecycle
from campaigns.mailings.models import Mailing, MailingStatus
from tests.campaign.conftest import campaign_by_slug, create, post
from tests.mailings.conftest import add_supporter, make_mailing
from tests.support import commit_change, start_due_mailings

NALOXONE = "naloxone-in-every-pocket"


def status_of(model: type, row_id: int) -> str:
    db.session.rollback()  # what the requests committed
    return db.session.get(model, row_id).status


def test_launching_asks_first_and_names_the_languages_that_fall_back(demo, make_staff, staff_login):
    campaigner = staff_login(make_staff("campaigner"))
    assert create(campaigner, status="ready").status_code == 303
    draft = campaign_by_slug()

    asked = post(campaigner, f"/staff/campaigns/{draft.id}/launch")

    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "Launch “Housing first for all”?" in page
    assert "Visitors reading French, German see the English version" in page
    assert 'name="confirmed" type="hidden" value="yes"' in page
    assert status_of(Campaign, draft.id) == CampaignStatus.DRAFT  # nothing happened

    done = post(campaigner, f"/staff/campaigns/{draft.id}/launch", confirmed="yes")
    assert done.status_code == 303
    assert status_of(Campaign, draft.id) == CampaignStatus.LIVE


def test_closing_asks_first_with_the_final_count(demo, make_staff, staff_login):
    campaigner = staff_login(make_staff("campaigner"))
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == NALOXONE))
    add_supporter(NALOXONE, "one@example.org")
    add_supporter(NALOXONE, "two@example.org")

    asked = post(campaigner, f"/staff/campaigns/{campaign.id}/close")

    page = asked.get_data(as_text=True)
    assert "Signing ends for good" in page
    assert "final count: 2 confirmed signatures" in page
    assert 'class="button button-danger"' in page  # an ending looks like one
    assert status_of(Campaign, campaign.id) == CampaignStatus.LIVE


def test_sending_a_mailing_asks_first_with_the_number_of_emails(demo, make_staff, staff_login):
    for n in range(3):
        add_supporter(NALOXONE, f"reader{n}@example.org")
    mailing = make_mailing()
    browser = staff_login(make_staff("campaigner"))

    asked = post(browser, f"/staff/mailings/{mailing.id}/schedule", send_at="")

    page = asked.get_data(as_text=True)
    assert "This sends 3 emails now." in page
    assert "Yes, send it now" in page
    assert status_of(Mailing, mailing.id) == MailingStatus.DRAFT
    assert start_due_mailings() == []

    done = post(browser, f"/staff/mailings/{mailing.id}/schedule", send_at="", confirmed="yes")
    assert done.status_code == 302
    assert status_of(Mailing, mailing.id) == MailingStatus.SCHEDULED
    shown = browser.get(done.location).get_data(as_text=True)
    assert "Sending has started." in shown  # not a bare "Scheduled."


def test_cancelling_a_mailing_asks_first_with_what_will_not_be_sent(demo, make_staff, staff_login):
    for n in range(2):
        add_supporter(NALOXONE, f"reader{n}@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    assert start_due_mailings() == [mailing.id]
    browser = staff_login(make_staff("campaigner"))

    asked = post(browser, f"/staff/mailings/{mailing.id}/cancel")

    assert "2 emails not sent yet will never be sent." in asked.get_data(as_text=True)
    assert status_of(Mailing, mailing.id) == MailingStatus.SENDING

    post(browser, f"/staff/mailings/{mailing.id}/cancel", confirmed="yes")
    assert status_of(Mailing, mailing.id) == MailingStatus.CANCELLED
